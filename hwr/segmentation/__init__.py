"""Finding the text lines of a page (baselines, polygons, reading order), apart from reading them."""
