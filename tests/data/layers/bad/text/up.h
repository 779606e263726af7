// planted: text/ reaching up into pipelines/
#include "pipelines/model_bundle.h"
