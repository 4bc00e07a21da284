# The same kernel as statistics.pyx, compiled with AVX2 and FMA (setup.py sets the flags),
# loaded where gdfast/linear_model/_engine.py runs the AVX2 epoch loop. One source, two
# builds: no code differs between them.
include "statistics.pyx"
