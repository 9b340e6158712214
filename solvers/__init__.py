"""Models of the dmft package, each registered in the ``dmft.models`` entry-point group."""
