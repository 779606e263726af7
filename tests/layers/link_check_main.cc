// The layer link check's program (tests/layers/extra.cmake): it does nothing; what matters is that
// the whole archive of one layer links against only the layers it may use.
int main() { return 0; }
