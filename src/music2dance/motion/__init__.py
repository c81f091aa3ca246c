"""Motion processing on joint arrays: cleaning, kinematic beats, dance units."""
