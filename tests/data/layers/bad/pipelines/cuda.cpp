// planted: model code including a CUDA header
#include <cuda_runtime.h>
