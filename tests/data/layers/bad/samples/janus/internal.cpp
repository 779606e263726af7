// planted: the CLI including a library internal instead of a public header
#include "text/llama_model.h"
