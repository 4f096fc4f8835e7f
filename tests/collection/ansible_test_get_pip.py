"""Stand-in for ansible-test's get-pip bootstrap script, for machines that reach only PyPI.

ansible-test creates its sanity virtual environments without pip, then runs a get-pip.py that
it downloads from a host outside PyPI (or finds in ~/.ansible/test/cache/get_pip_<ver>.py).
This script does the same job with the interpreter's own ensurepip, then lets pip install the
requested pip version and packages from PyPI. The collection sanity test copies it into that
cache when it is missing.
"""

import subprocess
import sys

# In a child process: ensurepip.bootstrap() would set PIP_CONFIG_FILE=/dev/null in this one,
# and the pip install below would lose the machine's pip configuration (index, CA bundle).
subprocess.check_call([sys.executable, "-m", "ensurepip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
