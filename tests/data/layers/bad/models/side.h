// planted: models/ reaching sideways into vision/
#include "vision/siglip.h"
// allowed: a file next to the includer and the layers below
#include "model_config.h"
#include "kernels/tensor.h"
