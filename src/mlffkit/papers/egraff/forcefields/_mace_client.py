"""i-PI client serving a MACE model over a Unix socket, run by the MACE environment's Python
(it imports mace and ase only, never mlffkit):

    python -P _mace_client.py MODEL ATOMS.xyz SOCKET DTYPE DEVICE

ATOMS.xyz holds the structure whose positions and cell the server then sends each step; ``-P``
keeps this folder off ``sys.path`` (its ``mace.py`` would shadow the mace package).
"""

import sys

from ase.calculators.socketio import SocketClient
from ase.io import read
from mace.calculators import MACECalculator

if __name__ == "__main__":
    model, atoms_path, socket, dtype, device = sys.argv[1:6]
    atoms = read(atoms_path)
    atoms.calc = MACECalculator(model_paths=model, device=device, default_dtype=dtype)
    SocketClient(unixsocket=socket).run(atoms, use_stress=bool(atoms.pbc.any()))
