// planted: vision/ reaching into a CPU backend internal
#include "kernels/cpu/gemm.h"
