"""Control groups for NNF instances: resource limits, freezing, process tracking and teardown.

Each instance gets ``<mount>/<hierarchy>/<root>/<name>`` (cgroup v1: one directory per mounted
hierarchy) or ``<mount>/<root>/<name>`` (cgroup v2). The two versions are two backends
(v1.py, v2.py) behind one interface (backend.py), picked once by `detect`; `Cgroups`
(manager.py) holds what does not depend on the version.
"""

from .common import CONTROLLERS, DEFAULT_MOUNT, CgroupError, Limits, cpu_shares, kernel_at_least
from .manager import FREEZE_TRY, Cgroups, detect

__all__ = [
    "CONTROLLERS",
    "DEFAULT_MOUNT",
    "FREEZE_TRY",
    "CgroupError",
    "Cgroups",
    "Limits",
    "cpu_shares",
    "detect",
    "kernel_at_least",
]
