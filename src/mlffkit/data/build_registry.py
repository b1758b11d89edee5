"""Build ``registry.json`` (the committed dataset registry) from the data mirror's MANIFEST.json.

    mlffkit data build-registry ../shared/data/MANIFEST.json   # rewrites registry.json
    mlffkit data build-registry --check ../shared/data/MANIFEST.json

Every file of the manifest is registered (upstream URL, sha256, size, license, citation); the
named *datasets* (what ``mlffkit.data.load(name)`` reads) are made by the rules in
:func:`dataset_rules`. The package reads only ``registry.json``; the mirror need not exist at
import time. Run this again when the mirror's manifest changes, and commit the result.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

REGISTRY_JSON = Path(__file__).with_name("registry.json")
SCHEMA = 1
_RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"

#: Per upstream repository: the license (must begin the manifest's license text) and the
#: citation that the book prints next to results obtained on its data.
SOURCES: dict[str, dict[str, str]] = {
    "andersx/rmd17-npz": dict(
        license="CC0-1.0",
        citation="A. S. Christensen and O. A. von Lilienfeld, Mach. Learn.: Sci. Technol. 1, "
                 "045018 (2020) (rMD17); S. Chmiela et al., Sci. Adv. 3, e1603015 (2017) "
                 "(MD17)"),
    "M3RG-IITD/MDBENCHGNN": dict(
        license="none stated (LICENSE file empty)",
        citation="V. Bihani et al., EGraFFBench: evaluation of equivariant graph neural "
                 "network force fields for atomistic simulations, Digital Discovery (2024); "
                 "MD17 frames from S. Chmiela et al., Sci. Adv. 3, e1603015 (2017)"),
    "davkovacs/BOTNet-datasets": dict(
        license="MIT",
        citation="D. P. Kovács et al., J. Chem. Theory Comput. 17, 7696 (2021) (3BPA); "
                 "I. Batatia et al., arXiv:2205.06643 (2022) (BOTNet, acetylacetone)"),
    "deepmodeling/deepmd-kit": dict(
        license="LGPL-3.0",
        citation="H. Wang, L. Zhang, J. Han and W. E, Comput. Phys. Commun. 228, 178 (2018) "
                 "(DeePMD-kit; example water data)"),
    "kyonofx/MDsim": dict(
        license="MIT",
        citation="X. Fu et al., Forces are not enough: benchmark and critical evaluation for "
                 "machine learning force fields with molecular simulations, TMLR (2023)"),
    "atomistic-machine-learning/schnetpack": dict(
        license="MIT",
        citation="K. T. Schütt et al., J. Chem. Theory Comput. 15, 448 (2019) (SchNetPack "
                 "test fixtures; ISO17: K. T. Schütt et al., NeurIPS 2017; MD17: "
                 "S. Chmiela et al., Sci. Adv. 2017)"),
    "choderalab/modelforge": dict(
        license="MIT",
        citation="choderalab/modelforge test fixtures; SPICE: P. Eastman et al., Sci. Data "
                 "10, 11 (2023); ANI-1x: J. S. Smith et al., Sci. Data 7, 134 (2020); ANI-2x: "
                 "C. Devereux et al., J. Chem. Theory Comput. 16, 4192 (2020)"),
}

#: MD17 time steps (fs) between consecutive frames, per the mirror's README (checked there with
#: a Verlet test). Benzene's step looks like 0.2 fs and is left out on purpose.
MD17_TIMESTEP_FS = {"azobenzene": 1.0, "paracetamol": 1.0, "benzene": None}
_EGRAFF_SYSTEMS = {"3bpa": "3bpa", "acac": "acac", "GeTe": "gete", "Data_lips": "lips"}
_EGRAFF_DESCRIPTIONS = {
    ("3bpa", "train"): "3BPA train", ("3bpa", "val"): "3BPA val (300 K), partly time-ordered",
    ("3bpa", "test"): "3BPA test (600 K), partly time-ordered",
    ("acac", "train"): "acetylacetone train", ("acac", "val"): "acetylacetone val",
    ("acac", "test"): "acetylacetone test (identical to val upstream)",
    ("GeTe", "val"): "GeTe4 (Ge40Te160, periodic) val, time-ordered, spacing unknown",
    ("GeTe", "test"): "GeTe4 (Ge40Te160, periodic) test, time-ordered, spacing unknown",
    ("Data_lips", "val"): "LiPS (83 atoms, periodic) val, not time-ordered",
}
_EGRAFF_NOTE = ("EGraFFBench split, eV as in the file (MD17 converted upstream with 0.04336, "
                "not ASE's 0.0433641)")


def dataset_rules(paths: set[str]) -> dict[str, dict[str, Any]]:
    """Named datasets from the mirror's file list: ``{name: {format, path, options,
    metadata, description}}``. ``path`` is a registered file or a directory (then the
    dataset is every registered file below it)."""
    out: dict[str, dict[str, Any]] = {}

    def add(name, fmt, path, description, options=None, metadata=None):
        out[name] = {"format": fmt, "path": path, "options": options or {},
                     "metadata": metadata or {}, "description": description}

    for p in sorted(paths):
        if m := re.fullmatch(r"MDBENCHGNN/Datasets/md17/(\w+)/(train|val|test)/nequip_npz\.npz",
                             p):
            mol, split = m.groups()
            note = ("MD17 frames 0-999, consecutive 0.5 fs steps" if split == "test"
                    else "random MD17 frames")
            add(f"egraff/md17/{mol}/{split}", "nequip_npz", p,
                f"MD17 {mol} {split}: {note}; {_EGRAFF_NOTE}",
                metadata={"timestep_fs": 0.5} if split == "test" else None)
        elif m := re.fullmatch(r"MDBENCHGNN/Datasets/(\w+)/data/(train|val|test)/"
                               r"nequip_npz\.npz", p):
            system, split = m.groups()
            add(f"egraff/{_EGRAFF_SYSTEMS[system]}/{split}", "nequip_npz", p,
                f"{_EGRAFF_DESCRIPTIONS.get((system, split), f'{system} {split}')}; "
                f"{_EGRAFF_NOTE}")
        elif m := re.fullmatch(r"rmd17-npz/rmd17-npz/rmd17_(\w+?)_(train|test)_(0[1-5])\.npz",
                               p):
            mol, split, k = m.groups()
            step = MD17_TIMESTEP_FS.get(mol, 0.5)
            add(f"rmd17/{mol}/{split}_{k}", "rmd17", p,
                f"rMD17 {mol}, official {split} split {k} (kcal/mol in file; time = MD17 "
                "frame index)", metadata={"timestep_fs": step} if step else None)
        elif m := re.fullmatch(r"BOTNet-datasets/dataset_(3BPA|acac)/(\w+)\.xyz", p):
            system, stem = m.groups()
            if stem in ("iso_atoms", "isolated_atoms"):
                add(f"botnet/{system.lower()}/isolated_atoms", "isolated_atoms", p,
                    f"{system} isolated-atom energies (eV)")
            else:
                add(f"botnet/{system.lower()}/{stem}", "extxyz", p,
                    f"{system} {stem} (BOTNet datasets, eV)")
        elif p.endswith("/type.raw"):
            system = p.rsplit("/", 1)[0]
            sets = {q.split("/")[-2] for q in paths if q.startswith(system + "/set.")}
            if not sets or any(f"{system}/{s}/coord.npy" not in paths for s in sets):
                continue  # LiPS20 glasses: upstream has no coord.npy/force.npy
            if m := re.fullmatch(r"MDBENCHGNN/Datasets/LiPS20/([\w-]+)/3000K/deepmd/\w+",
                                 system):
                add(f"egraff/lips20/{m.group(1)}", "deepmd", system,
                    "LiPS20 3000 K trajectory (deepmd, eV), time-ordered, about 3 fs apart "
                    "but unevenly spaced (windows.breaks cuts the largest gaps)",
                    options={"time_ordered": True})
            elif m := re.fullmatch(r"deepmd-kit/examples/water/data/(data_\d+)", system):
                add(f"deepmd/water/{m.group(1)}", "deepmd", system,
                    "64 H2O, 12.445 Å box, deepmd example data (eV); not time-ordered")
        elif p == "MDsim/alanine_dipeptide_files/fes.dat":
            add("mdsim/alanine/fes", "plumed_fes", p,
                "alanine dipeptide reference free-energy surface (phi, psi), kJ/mol in file")
        elif p == "MDsim/alanine_dipeptide_files/ala2.pdb":
            add("mdsim/alanine/pdb", "pdb", p,
                "alanine dipeptide structure (elements taken from atom names: the file's "
                "element column calls the alpha carbon CA)",
                options={"elements_from_names": True})
        elif p.startswith("schnetpack/tests/data/"):
            stem = p.rsplit("/", 1)[1]
            rules = {
                "test_iso.db": ("schnetpack/iso17", "ase_db", "ISO17 fixture (40 rows, "
                                "isomers with differently ordered atoms: a list of Frames)",
                                {"energy_key": "total_energy", "forces_key": "atomic_forces",
                                 "group": True}),
                "test_ethanol.db": ("schnetpack/ethanol", "ase_db",
                                    "MD17 ethanol fixture (20 rows, kcal/mol in file)",
                                    {"energy_unit": "kcal/mol"}),
                "test_ani1.db": ("schnetpack/ani1", "ase_db",
                                 "ANI-1 fixture (20 CH4 rows, eV, energies only)", {}),
                "ethanol_snip.xyz": ("schnetpack/ethanol_snip", "sgdml_xyz",
                                     "MD17 ethanol snippet (3 frames, kcal/mol in file)",
                                     {"energy_unit": "kcal/mol"}),
            }
            if stem in rules:
                name, fmt, description, options = rules[stem]
                add(name, fmt, p, description, options)
        elif p.startswith("modelforge/modelforge/tests/data/"):
            stem = p.rsplit("/", 1)[1]
            rules = {"SPICE-1.1.4_n2.hdf5": ("modelforge/spice", "SPICE 1.1.4 fixture (2 "
                                             "molecules; hartree, bohr in file)"),
                     "ani1_n5.hdf5": ("modelforge/ani1x", "ANI-1x fixture (5 molecules; "
                                      "hartree in file)"),
                     "ani2x_minimal.hdf5": ("modelforge/ani2x", "ANI-2x fixture (diatomics; "
                                            "hartree in file)")}
            if stem in rules:
                add(rules[stem][0], "hdf5", p, rules[stem][1])
    return {name: out[name] for name in sorted(out)}


def build(manifest: list[dict[str, Any]], manifest_sha256: str) -> dict[str, Any]:
    """The registry table from the parsed manifest."""
    sources: dict[str, dict[str, Any]] = {}
    for entry in manifest:
        repo = entry["repo"]
        if repo not in SOURCES:
            raise ValueError(f"{entry['file']}: repository {repo} has no license/citation in "
                             "build_registry.SOURCES; add it")
        info = SOURCES[repo]
        if not entry["license"].startswith(info["license"]):
            raise ValueError(f"{entry['file']}: manifest license {entry['license']!r} does not "
                             f"start with {info['license']!r}")
        prefix = entry["file"][: len(entry["file"]) - len(entry["path"])]
        if entry["file"] != prefix + entry["path"]:
            raise ValueError(f"{entry['file']}: does not end with its upstream path")
        url = _RAW.format(repo=repo, commit=entry["commit"], path=entry["path"])
        if entry["url"] != url:
            raise ValueError(f"{entry['file']}: url {entry['url']} is not {url}")
        source = sources.setdefault(repo, {"commit": entry["commit"], "prefix": prefix,
                                           "license": info["license"],
                                           "license_note": entry["license"],
                                           "citation": info["citation"], "files": {}})
        if (source["commit"], source["prefix"]) != (entry["commit"], prefix):
            raise ValueError(f"{entry['file']}: other commit or folder than the rest of {repo}")
        source["files"][entry["path"]] = [entry["size"], entry["sha256"]]
    paths = {e["file"] for e in manifest}
    return {"schema": SCHEMA, "manifest_sha256": manifest_sha256,
            "sources": {k: sources[k] for k in sorted(sources)},
            "datasets": dataset_rules(paths)}


def render(table: dict[str, Any]) -> str:
    """Stable, diff-friendly JSON: one line per file and per dataset."""
    lines = ["{", f'"schema": {table["schema"]},',
             f'"manifest_sha256": {json.dumps(table["manifest_sha256"])},', '"sources": {']
    sources = list(table["sources"].items())
    for i, (repo, source) in enumerate(sources):
        head = {k: v for k, v in source.items() if k != "files"}
        lines.append(f"{json.dumps(repo)}: {json.dumps(head, ensure_ascii=False)[:-1]}, "
                     '"files": {')
        files = list(source["files"].items())
        lines += [f"  {json.dumps(path)}: {json.dumps(value)}"
                  + ("," if j < len(files) - 1 else "") for j, (path, value) in enumerate(files)]
        lines.append("}}" + ("," if i < len(sources) - 1 else ""))
    lines.append("},")
    lines.append('"datasets": {')
    items = list(table["datasets"].items())
    lines += [f"{json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}"
              + ("," if j < len(items) - 1 else "") for j, (name, value) in enumerate(items)]
    lines += ["}", "}", ""]
    text = "\n".join(lines)
    assert json.loads(text) == table
    return text


def build_from_file(manifest_path) -> str:
    raw = Path(manifest_path).read_bytes()
    return render(build(json.loads(raw), hashlib.sha256(raw).hexdigest()))

