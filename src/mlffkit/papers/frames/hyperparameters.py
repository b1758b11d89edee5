"""FRAMES training hyperparameters as data (Appendix A of the FRAMES paper).

``MD17_LOSS_WEIGHTS`` transcribes Table 5 (λ_E, λ_F, initial λ_aux per molecule);
``ISO17_LOSS_WEIGHTS`` is §A.3 (one setting for all isomers). λ_aux decays linearly to 0 over
training (§A.1): :class:`~mlffkit.papers.frames.objective.FramesObjective` does that.
"""

from __future__ import annotations

from mlffkit.training.losses import LossWeights

#: Table 5 (MD17): energy coefficient λ_E, force coefficient λ_F, initial FRAMES λ_aux.
MD17_LOSS_WEIGHTS: dict[str, LossWeights] = {
    "aspirin": LossWeights(energy=1, forces=80, aux=1),
    "benzene": LossWeights(energy=1, forces=80, aux=0.25),
    "ethanol": LossWeights(energy=1, forces=80, aux=0.25),
    "malonaldehyde": LossWeights(energy=1, forces=100, aux=0.25),
    "naphthalene": LossWeights(energy=2, forces=20, aux=1),
    "salicylic_acid": LossWeights(energy=1, forces=80, aux=1),
    "toluene": LossWeights(energy=1, forces=80, aux=1),
    "uracil": LossWeights(energy=1, forces=20, aux=0.25),
}

#: §A.3: ISO17, all isomers.
ISO17_LOSS_WEIGHTS = LossWeights(energy=1, forces=80, aux=0.25)

#: §A.1: batch size by window length T (T=1 is the baseline), counted in windows: a T=2
#: batch of 4 windows runs the backbone on 8 frames.
BATCH_SIZE_BY_WINDOW: dict[int, int] = {1: 8, 2: 4, 3: 4}

#: Appendix A: Adam, initial learning rate.
OPTIMIZER = "adam"
LEARNING_RATE = 5e-4


def frames_loss_weights(dataset: str, molecule: str | None = None) -> LossWeights:
    """The paper's coefficients for ``dataset`` ("md17" needs ``molecule``; "iso17")."""
    dataset = dataset.lower()
    if dataset == "iso17":
        return ISO17_LOSS_WEIGHTS
    if dataset != "md17":
        raise ValueError(f"FRAMES gives coefficients for md17 and iso17, not {dataset!r}")
    key = (molecule or "").lower().replace(" ", "_").replace("-", "_")
    if key not in MD17_LOSS_WEIGHTS:
        raise ValueError(f"no MD17 coefficients for {molecule!r}; known: "
                         f"{', '.join(MD17_LOSS_WEIGHTS)}")
    return MD17_LOSS_WEIGHTS[key]
