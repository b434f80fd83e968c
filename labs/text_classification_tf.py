# %% [markdown]
# # text_classification_tf
#
# This lab is being written.
