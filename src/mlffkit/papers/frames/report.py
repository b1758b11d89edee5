"""The FRAMES rows of ``book/reproducibility.md``, generated from the stored book records.

The section between :data:`START` and :data:`END` in that file is what :func:`markdown`
returns: statuses and counts computed by the same verdict functions the chapters use, from the
book profile's stored records (nothing is trained here; a missing record fails as in the
chapters). ``mlffkit book report`` rewrites the section; a test checks that the committed
file matches the records.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mlffkit.papers.frames import analysis as fa
from mlffkit.papers.frames import md17 as fm
from mlffkit.papers.frames import spring_mass as sm
from mlffkit.papers.frames import training as ft

START = "<!-- frames-report: generated from the stored records by `mlffkit book report` -->"
END = "<!-- /frames-report -->"


def _load(name: str):
    from mlffkit import experiments

    return experiments.run(name, "book")


def _aux(runs: pd.DataFrame) -> tuple[str, fa.Verdict | None]:
    aux = ft.aux_check(runs)
    text = (f"the auxiliary head beat predicting zero displacement in "
            f"{int(aux['learned'].sum())} of {len(aux)} runs with an auxiliary loss" if len(aux) else
            "no run with an auxiliary loss")
    return text, fa.aux_hold(aux)


def _cell(markdown: str, sentence: bool = True) -> str:
    """A chapter's Markdown summary (bullets, bold, "Verdict:") as one table cell; with
    ``sentence``, its first letter capitalised (it follows a full stop)."""
    text = re.sub(r"^\* ", "", str(markdown), flags=re.M).replace("**", "")
    text = " ".join(text.replace("Verdict: ", "").split())
    return text[:1].upper() + text[1:] if sentence else text


def _setting(params: dict) -> str:
    run = params["run"]
    return f"{run['model']}, {run['epochs']} epochs, {params['seeds']} seeds"


def _table1(name: str, paper: pd.DataFrame | None, result=None) -> tuple[str, str]:
    result = _load(name) if result is None else result
    runs, params = result.tables["runs"], result.record["params"]
    directions = (fa.paper_directions(paper, "force_mae", params["molecules"])
                  if paper is not None else None)
    claims = fa.claims(runs, "force_mae_meV_A", ["molecule"], paper=directions)
    aux_text, hold = _aux(runs)
    verdict = hold or fa.verdict(claims)
    return verdict.status, (f"{_setting(params)}; {aux_text}. Paired 95% intervals on the "
                            f"force MAE per molecule: {_cell(fa.claim_summary(claims))}")


def _equiformer(paper: pd.DataFrame | None) -> tuple[str, str]:
    result, todo = fm.equiformer_sweep("book")
    pending = [m for m, n in todo.items() if n]
    later = (f" Not read yet: {', '.join(pending)} (not all of its runs are stored)."
             if pending else "")
    if result is None:
        return "not yet", (f"{fm.EQUIFORMER_RUNS['model']}: no molecule has all its runs "
                           f"stored.{later}")
    status, text = _table1(fm.TABLE1.name, paper, result)
    return status, f"{text} Read: {', '.join(result.record['params']['molecules'])}.{later}"


def _ablation() -> tuple[str, str]:
    result = _load("frames_ablation")
    runs = result.tables["runs"]
    aux_text, hold = _aux(runs)
    verdict = hold or fa.ablation_verdict(runs, no_aux=fm.no_aux_runs(result.record["params"]))
    return verdict.status, f"{_setting(result.record['params'])}; {aux_text}. {_cell(verdict)}"


def _iso17() -> tuple[str, str]:
    result = _load("frames_iso17")
    runs = result.tables["runs"]
    aux_text, hold = _aux(runs)
    verdict = hold or fa.iso17_verdict(runs)
    return verdict.status, (f"{_setting(result.record['params'])} on our `xtb-iso17`; "
                            f"{aux_text}. {_cell(verdict)}")


def _lag() -> tuple[str, str]:
    result = _load("frames_lag")
    runs = result.tables["runs"]
    aux_text, hold = _aux(runs)
    status = "ours, on hold" if hold else "ours"
    return status, (f"{_setting(result.record['params'])} on `xtb-md17`; {aux_text}. "
                    f"{_cell(fa.lag_verdict(runs))}")


def _spring_mass() -> tuple[str, str]:
    result = _load("spring_mass")
    runs, p = result.tables["runs"], result.record["params"]
    verdict = sm.verdict(runs)
    return verdict.status, (f"{p['seeds']} seeds, disjoint train/test oscillators, paired t "
                            f"intervals corrected over the table: {_cell(verdict, sentence=False)}")


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
        ("Table 1 with our Equiformer (FRAMES' architecture)", "frames/md17",
         *_equiformer(paper)),
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
