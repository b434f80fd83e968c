# %% [markdown]
# # image_classification_torch
#
# This lab is being written.
