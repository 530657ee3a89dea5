"""PyTorch training and export to .tlm; filled by the trainer issue."""
