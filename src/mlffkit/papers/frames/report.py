"""The FRAMES rows of ``book/reproducibility.md``, generated from the stored book records.

The section between :data:`START` and :data:`END` in that file is what :func:`markdown`
returns: statuses and counts computed by the same verdict functions the chapters use, from the
book profile's stored records (nothing is trained here; a missing record fails as in the
chapters). ``mlffkit book report`` rewrites the section; a test checks that the committed
file matches the records.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlffkit.papers.frames import analysis as fa
from mlffkit.papers.frames import spring_mass as sm
from mlffkit.papers.frames import training as ft

START = "<!-- frames-report: generated from the stored records by `mlffkit book report` -->"
END = "<!-- /frames-report -->"


def _load(name: str):
    from mlffkit import experiments

    return experiments.run(name, "book")


def _count(mask) -> str:
    return f"{int(mask.sum())} of {len(mask)}"


def _aux(runs: pd.DataFrame) -> tuple[str, fa.Verdict | None]:
    aux = ft.aux_check(runs)
    text = (f"the auxiliary head beat predicting zero displacement in "
            f"{_count(aux['learned'])} runs with an auxiliary loss" if len(aux) else
            "no run with an auxiliary loss")
    return text, fa.aux_hold(aux)


def _claims_text(claims: pd.DataFrame) -> str:
    parts = []
    for claim, t in claims.groupby("claim", sort=False):
        decided = t["verdict"].str.endswith(" better")
        opposite = int((decided & ~t["holds"]).sum())
        parts.append(f"{claim}: holds on {_count(t['holds'])}, opposite on {opposite}")
    return "; ".join(parts)


def _setting(params: dict) -> str:
    run = params["run"]
    return f"{run['model']}, {run['epochs']} epochs, {params['seeds']} seeds"


def _table1(name: str, paper: pd.DataFrame | None) -> tuple[str, str]:
    result = _load(name)
    runs, params = result.tables["runs"], result.record["params"]
    directions = (fa.paper_directions(paper, "force_mae", params["molecules"])
                  if paper is not None else None)
    claims = fa.claims(runs, "force_mae_meV_A", ["molecule"], paper=directions)
    aux_text, hold = _aux(runs)
    verdict = hold or fa.verdict(claims)
    why = (f"{_setting(params)}; {aux_text}. Paired 95% intervals on the force MAE per "
           f"molecule: {_claims_text(claims)}")
    if directions is not None and len(directions):
        head = directions[directions["claim"] == "T=2 vs T=1"]
        why += (f". The paper's own Table 1 has T=2 below T=1 on "
                f"{_count(head['paper_holds'])} molecules, beyond its ± on "
                f"{int((head['paper_holds'] & head['paper_beyond_std']).sum())}")
    return verdict.status, why


def _ablation() -> tuple[str, str]:
    from mlffkit.papers.frames import md17 as fm

    result = _load("frames_ablation")
    runs = result.tables["runs"]
    aux_text, hold = _aux(runs)
    no_aux = ft.sweep(fm.RUN.name, ft.sweep_config(fm.RUN, result.record["params"]).replace(
        variants=[ft.variant("T=2, no aux", T=2, aux_weight=0.0)]))
    verdict = hold or fa.ablation_verdict(runs, no_aux=no_aux)
    text = str(verdict).replace("**", "").replace("Verdict: ", "")
    return verdict.status, f"{_setting(result.record['params'])}; {aux_text}. {text[0].upper()}{text[1:]}"


def _iso17() -> tuple[str, str]:
    result = _load("frames_iso17")
    runs = result.tables["runs"]
    aux_text, hold = _aux(runs)
    verdict = hold or fa.iso17_verdict(runs)
    long = fa.iso17_long(runs)
    t2 = fa.compare(long, "mae", reference="T=1", by=["quantity"])
    t2 = t2[t2.variant == "T=2"]
    controls = []
    for name in fa.CONTROLS:
        reference = name.split(" vs ")[0]
        if reference in set(long["label"]):
            c = fa.compare(long[long.label.isin(["T=2", reference])], "mae",
                           reference=reference, by=["quantity"])
            controls.append(f"against {reference} on {_count(c.verdict == 'T=2 better')}")
    return verdict.status, (f"{_setting(result.record['params'])} on our `xtb-iso17`; "
                            f"{aux_text}; T=2 beats T=1 on "
                            f"{_count(t2.verdict == 'T=2 better')} test numbers"
                            + "".join(f", {c}" for c in controls))


def _lag() -> tuple[str, str]:
    result = _load("frames_lag")
    runs = result.tables["runs"]
    aux_text, hold = _aux(runs)
    status = "ours, on hold" if hold else "ours"
    return status, (f"{_setting(result.record['params'])} on `xtb-md17`; {aux_text}. "
                    + str(fa.lag_verdict(runs)).replace("**", ""))


def _spring_mass() -> tuple[str, str]:
    result = _load("spring_mass")
    runs, p = result.tables["runs"], result.record["params"]
    verdict = sm.verdict(runs)
    text = str(verdict).replace("* **", "").replace("**", "").replace("\n", " ")
    return verdict.status, (f"{p['seeds']} seeds, disjoint train/test oscillators, paired t "
                            f"intervals corrected over the table: {text}")


def rows(paper: pd.DataFrame | None = None) -> list[tuple[str, str, str, str]]:
    """(item, chapter, status, why) for every FRAMES table and figure. ``paper``: the
    transcription ``book/frames/paper_md17_iso17.csv`` (for the paper's own directions)."""
    spring = _spring_mass()
    return [
        ("Table 4, spring-mass force MSE vs T", "frames/spring_mass", *spring),
        ("Figure 2, spring-mass MSE vs T", "frames/spring_mass", spring[0],
         "drawn from the same runs as Table 4, with the paper's MLP row beside ours"),
        ("Table 1, MD17 energy/force MAE for T = 1, 2, 3", "frames/md17",
         *_table1("frames_md17", paper)),
        ("Table 1 on all eight molecules (our GFN2-xTB MD)", "frames/xtb_md17",
         *_table1("frames_xtb_md17", None)),
        ("Table 2, auxiliary-loss ablation (Δp vs E<sub>t+1</sub>, F<sub>t+1</sub>)",
         "frames/ablation", *_ablation()),
        ("Table 3, ISO17 within / outside distribution", "frames/iso17", *_iso17()),
        ("Table 5, loss coefficients", "frames/md17", "input",
         "transcribed in `mlffkit.papers.frames.hyperparameters` and used by every FRAMES run "
         "(λ_E, λ_F, λ_aux per molecule; ISO17 values from §A.3)"),
        ("Figure 1, the FRAMES architecture", "frames/md17", "reproduced",
         "drawn from the code's own model (parameter counts per role, embedding width from a "
         "forward pass) and a real aspirin training window"),
        ("Learning curves (not in the paper)", "frames/md17", "ours",
         "validation force MAE per epoch against optimiser steps, every variant, mean and "
         "range over seeds"),
        ("Frame-lag study (not in the paper)", "frames/frame_lag", *_lag()),
    ]


def markdown(paper: pd.DataFrame | None = None) -> str:
    """The generated section: markers around the FRAMES table."""
    lines = [START, "", "| item | chapter | status | why |", "|---|---|---|---|"]
    for item, chapter, status, why in rows(paper):
        cell = why.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {item} | {{doc}}`{chapter}` | {status} | {cell} |")
    return "\n".join(lines + ["", END])


def update(path: Path, paper: pd.DataFrame | None, check: bool = False) -> bool:
    """Rewrite the generated section of ``path`` (``check``: only compare). True when the
    file already matched."""
    text = path.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{path}: no generated FRAMES section ({START!r} ... {END!r})")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = head + markdown(paper) + tail
    if not check and new != text:
        path.write_text(new)
    return new == text
