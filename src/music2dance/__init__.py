"""music2dance: give it a song, get back a dance.

Decomposition-to-composition dance generation ("Dancing to Music", Lee et al. 2019), rebuilt to last minutes.
"""

__version__ = "0.1.0"
