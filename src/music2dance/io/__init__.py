"""Reading and writing: skeletons, dance datasets, BVH and keypoint files, atomic outputs."""
