"""CONTRIBUTING.md's worked examples run as written (a reader, a backbone, an experiment, a
generated set, an external force field), in a fresh process so that their registrations stay
out of this one."""

import re
import subprocess
import sys

from mlffkit.paths import REPO_ROOT


def test_the_worked_examples_run(tmp_path):
    text = (REPO_ROOT / "CONTRIBUTING.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 5, ("one example per: reader, backbone, experiment, generated set, "
                              "external force field")
    script = tmp_path / "examples.py"
    script.write_text("\n\n".join(blocks))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
