# The same kernel as linear.pyx, compiled with AVX2 and FMA (setup.py sets the flags).
# gdfast/linear_model/_engine.py loads it only when the CPU has both; otherwise linear.pyx, built for the
# baseline instruction set, runs. One source, two builds: no code differs between them.
include "linear.pyx"
