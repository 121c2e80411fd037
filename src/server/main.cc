// Placeholder until the server wiring lands in this same change series.
int main() { return 0; }
