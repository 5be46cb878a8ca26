__version__ = "0.1.0"
from .core import quiet_start as _quiet_start
_quiet_start() # before any module imports TensorFlow: no CUDA/absl/oneDNN start-up notices (see llie.core)
