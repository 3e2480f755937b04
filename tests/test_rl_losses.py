"""rl_losses: estimators and losses by hand, TRL's own GRPO loss, and 1 vs 2 DDP processes."""

import json
import math
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lit_parallel.modules.rl_losses import (
    advantages,
    aggregate,
    all_equal_groups,
    clipped_policy_loss,
    k3_kl,
    local_count,
    selected_logprobs,
)

REWARDS = torch.tensor([[1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0]])


def test_grpo_advantages_divide_by_the_unbiased_group_std():
    std = math.sqrt(((0.5**2) * 4) / 3)  # group 0: mean 0.5, unbiased std
    expected = [[0.5 / (std + 1e-4), -0.5 / (std + 1e-4), -0.5 / (std + 1e-4), 0.5 / (std + 1e-4)], [0, 0, 0, 0]]
    assert torch.allclose(advantages(REWARDS, "grpo"), torch.tensor(expected))


def test_dr_grpo_rloo_and_reinforce_advantages():
    assert advantages(REWARDS, "dr_grpo").tolist() == [[0.5, -0.5, -0.5, 0.5], [0, 0, 0, 0]]
    # leave-one-out: 1 - (0+0+1)/3 = 2/3, 0 - (1+0+1)/3 = -2/3
    rloo = advantages(REWARDS, "rloo")
    assert torch.allclose(rloo[0], torch.tensor([2 / 3, -2 / 3, -2 / 3, 2 / 3]))
    assert rloo[1].abs().max() == 0
    # batch mean of all 8 rewards: (2 + 8) / 8 = 1.25
    assert advantages(REWARDS, "reinforce").tolist() == [[-0.25, -1.25, -1.25, -0.25], [0.75] * 4]
    assert all_equal_groups(REWARDS).tolist() == [False, True]
    with pytest.raises(ValueError, match="rloo"):
        advantages(torch.ones(2, 1), "rloo")


def test_clipped_loss_clips_each_side_with_its_own_epsilon():
    ratios = torch.tensor([[0.5, 0.9, 1.0, 1.2, 1.5]])
    logp, old = ratios.log(), torch.zeros(1, 5)
    for adv, expected, clipped in [
        # A > 0: min(r, clip(r, 0.8, 1.3)) -> the high side caps at 1.3; below 1 - eps_low r itself counts
        (1.0, [-0.5, -0.9, -1.0, -1.2, -1.3], [False, False, False, False, True]),
        # A < 0: -min(-r, -clip(r)) = max(r, clip(r)) -> the low side floors at 0.8
        (-1.0, [0.8, 0.9, 1.0, 1.2, 1.5], [True, False, False, False, False]),
    ]:
        loss, was_clipped = clipped_policy_loss(logp, old, torch.tensor([adv]), eps_low=0.2, eps_high=0.3)
        assert torch.allclose(loss, torch.tensor([expected]), atol=1e-6)
        assert was_clipped.tolist() == [clipped]


def test_selected_logprobs_value_gradient_and_entropy_equal_log_softmax():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 11, dtype=torch.double, requires_grad=True)
    targets = torch.randint(11, (3, 5))
    reference = logits.log_softmax(-1)
    logp, entropy = selected_logprobs(logits, targets, entropy=True)
    torch.testing.assert_close(logp, reference.gather(-1, targets[..., None])[..., 0])
    torch.testing.assert_close(entropy, -(reference.exp() * reference).sum(-1))
    assert not entropy.requires_grad
    assert torch.autograd.gradcheck(lambda x: selected_logprobs(x, targets)[0], (logits,))


def test_k3_kl_and_the_three_aggregations_by_hand():
    logp, ref = torch.tensor([[-1.0, -2.0]]), torch.tensor([[-1.5, -1.0]])
    d = ref - logp
    assert torch.allclose(k3_kl(logp, ref), torch.exp(d) - d - 1)
    assert (k3_kl(logp, logp) == 0).all()

    per_token = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    totals = {agg: local_count(mask, agg, max_new_tokens=3) for agg in ("token_mean", "sequence_mean", "constant")}
    assert [t.item() for t in totals.values()] == [4, 2, 6]
    assert aggregate(per_token, mask, "token_mean", totals["token_mean"], 1).item() == pytest.approx(10 / 4)
    assert aggregate(per_token, mask, "sequence_mean", totals["sequence_mean"], 1).item() == pytest.approx((2 + 4) / 2)
    assert aggregate(per_token, mask, "constant", totals["constant"], 1).item() == pytest.approx(10 / 6)
    # a micro-batch of one row out of the two: its share, counted against the whole batch's total
    share = aggregate(per_token[:1], mask[:1], "token_mean", totals["token_mean"], 1)
    assert share.item() == pytest.approx(6 / 4)


@pytest.fixture(scope="module")
def trl_trainer(tmp_path_factory):
    """TRL's real GRPOTrainer on a tiny random model, built offline (only its loss code is used)."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from lit_parallel.modeling import ModelSpec

    tiny = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1}
    tiny |= {"num_attention_heads": 2, "num_key_value_heads": 1}
    weights = ModelSpec(tiny=tiny, quantization="none", lora=None).weights_dir()
    config = GRPOConfig(
        output_dir=str(tmp_path_factory.mktemp("trl")),
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=6,
        epsilon=0.2,
        epsilon_high=0.28,
        beta=0.04,
        use_bias_correction_kl=False,  # TRL 1.16's default weights the KL by the ratio; ours is the plain k3
        report_to=[],
        use_cpu=True,
    )
    dataset = Dataset.from_dict({"prompt": ["x"] * 4})
    return GRPOTrainer(
        model=weights,
        reward_funcs=lambda completions, **_: [0.0] * len(completions),
        args=config,
        train_dataset=dataset,
    )


@pytest.mark.parametrize(("loss_type", "aggregation"), [("grpo", "sequence_mean"), ("dr_grpo", "constant")])
def test_grpo_and_dr_grpo_losses_equal_trls_own(trl_trainer, loss_type, aggregation):
    """TRL 1.16's ``GRPOTrainer._compute_loss`` (clipped ratio, k3 KL times beta, then per loss type:
    ``grpo`` the mean over sequences of each sequence's token mean, ``dr_grpo`` the token sum over
    (sequences x max_completion_length)) against ours, value and gradient, for the same log-probs."""
    g = torch.Generator().manual_seed(0)
    rows, width = 4, 6
    mask = (torch.arange(width)[None] < torch.tensor([6, 2, 4, 5])[:, None]).long()
    logp = (-torch.rand(rows, width, generator=g) * 3).requires_grad_()
    old = logp.detach() + 0.3 * torch.randn(rows, width, generator=g)  # ratios on both sides of the clip
    ref = logp.detach() + 0.5 * torch.randn(rows, width, generator=g)
    adv = torch.randn(rows, generator=g)
    inputs = {
        "prompt_ids": torch.ones(rows, 2, dtype=torch.long),
        "prompt_mask": torch.ones(rows, 2, dtype=torch.long),
        "completion_ids": torch.ones(rows, width, dtype=torch.long),
        "completion_mask": mask,
        "advantages": adv,
        "old_per_token_logps": old,
        "ref_per_token_logps": ref,
    }
    trainer = trl_trainer
    trainer.loss_type = loss_type
    # TRL computes log-probs from its model; hand it ours, so that the loss code alone is compared.
    trainer._get_per_token_logps_and_entropies = lambda *a, **k: (logp, torch.zeros_like(logp), None)
    theirs = trainer._compute_loss(trainer.model, inputs)
    (their_grad,) = torch.autograd.grad(theirs, logp)

    per_token, _ = clipped_policy_loss(logp, old, adv, eps_low=0.2, eps_high=0.28)
    per_token = per_token + 0.04 * k3_kl(logp, ref)
    ours = aggregate(per_token, mask, aggregation, local_count(mask, aggregation, width), world_size=1)
    (our_grad,) = torch.autograd.grad(ours, logp)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    assert torch.allclose(our_grad, their_grad, atol=1e-7)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory) -> Path:
    """The script's results on 1 and on 2 processes."""
    out = tmp_path_factory.mktemp("rl-ddp")
    script = Path(__file__).with_name("ddp") / "rl_loss_ranks.py"
    for world in (1, 2):
        args = [sys.executable, str(script), str(out), str(world), str(free_port())]
        run = subprocess.run(args, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
    return out


@pytest.mark.parametrize("aggregation", ["token_mean", "sequence_mean", "constant"])
def test_aggregated_loss_and_gradient_equal_on_one_and_two_ddp_processes(ddp_runs, aggregation):
    one, two = (json.loads((ddp_runs / f"{aggregation}-world{w}.json").read_text()) for w in (1, 2))
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-5, abs=1e-7)
    for g1, g2 in zip(one["grads"], two["grads"], strict=True):
        assert g2 == pytest.approx(g1, rel=1e-4, abs=1e-7)
    assert any(abs(v) > 1e-4 for grad in one["grads"] for v in grad), "no gradient at all"


@pytest.mark.parametrize("estimator", ["grpo", "dr_grpo", "rloo", "reinforce"])
def test_advantages_over_the_valid_completions_are_those_of_the_batch_without_the_others(estimator):
    rewards = torch.tensor([[1.0, 0.0, 5.0, 1.0, 0.0], [2.0, 0.5, 1.0, 9.0, 0.0]])
    valid = torch.tensor([[True, True, False, True, True], [True, True, True, False, True]])
    masked = advantages(rewards, estimator, valid=valid)
    alone = advantages(rewards[valid].view(2, 4), estimator)
    assert torch.allclose(masked[valid].view(2, 4), alone)
    assert masked[~valid].abs().sum() == 0
    assert all_equal_groups(torch.tensor([[1.0, 7.0, 1.0]]), torch.tensor([[True, False, True]])).tolist() == [True]
