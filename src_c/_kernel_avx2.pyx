# The same kernel as _kernel.pyx, compiled with AVX2 and FMA (setup.py sets the flags).
# gdfast/_engine.py loads it only when the CPU has both; otherwise _kernel, built for the
# baseline instruction set, runs. One source, two builds: no code differs between them.
include "_kernel.pyx"
