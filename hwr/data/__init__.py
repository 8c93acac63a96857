"""Data: line readers, the alphabet, image preprocessing and augmentation."""
