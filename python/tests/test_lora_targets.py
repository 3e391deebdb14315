import pytest

from trainops_trainer.config import DEFAULT_LORA_TARGETS, TrainConfig, split_names
from trainops_trainer.errors import ConfigError
from trainops_trainer.modeling import attach_lora, load_base_model, resolve_lora_targets


@pytest.fixture(scope="module")
def phi3():
    return load_base_model(TrainConfig(model="tiny-random-phi3"))


@pytest.fixture(scope="module")
def phimoe():
    return load_base_model(TrainConfig(model="tiny-random-phimoe"))


def test_fused_phi_modules_resolved(phi3):
    targets = resolve_lora_targets(phi3, split_names(DEFAULT_LORA_TARGETS), False, "tiny-random-phi3")

    assert targets.summary() == ["model.layers.*.mlp.down_proj", "model.layers.*.mlp.gate_up_proj",
                                 "model.layers.*.self_attn.o_proj", "model.layers.*.self_attn.qkv_proj"]
    assert targets.unmatched == []


def test_no_match_names_model_and_candidates(phi3):
    with pytest.raises(ConfigError) as caught:
        resolve_lora_targets(phi3, ["c_attn"], False, "tiny-random-phi3")

    assert "tiny-random-phi3" in caught.value.message
    assert "candidates: down_proj, gate_up_proj, o_proj, qkv_proj" in caught.value.message


def test_moe_adapts_attention_and_experts(phimoe):
    targets = resolve_lora_targets(phimoe, split_names(DEFAULT_LORA_TARGETS), False, "tiny-random-phimoe")

    assert targets.summary() == [
        "model.layers.*.mlp.experts.down_proj", "model.layers.*.mlp.experts.gate_up_proj",
        "model.layers.*.self_attn.k_proj", "model.layers.*.self_attn.o_proj",
        "model.layers.*.self_attn.q_proj", "model.layers.*.self_attn.v_proj",
    ]
    assert targets.routers == []


def test_moe_router_trained_when_asked(phimoe):
    targets = resolve_lora_targets(phimoe, ["q_proj"], True, "tiny-random-phimoe")

    assert targets.routers == ["model.layers.0.mlp.router", "model.layers.1.mlp.router"]


def test_moe_router_aux_loss_switch():
    on = load_base_model(TrainConfig(model="tiny-random-phimoe"))
    off = load_base_model(TrainConfig(model="tiny-random-phimoe", router_aux_loss=False))

    assert on.config.output_router_logits is True
    assert off.config.output_router_logits is False


def test_peft_model_trains_only_adapter():
    config = TrainConfig(model="tiny-random-phimoe", train_router=True)
    model = attach_lora(load_base_model(config), config)

    trainable = [name for name, p in model.named_parameters() if p.requires_grad]

    assert any("experts.lora_A" in name for name in trainable)
    assert any("router.modules_to_save" in name for name in trainable)
    assert all("lora_" in name or "modules_to_save" in name for name in trainable)
