import pytest
import torch

from distancing.models import MODELS, build_model, count_parameters


def test_resnet18_has_the_published_parameter_count():
    # kuangliu/pytorch-cifar ResNet-18 for CIFAR-10: 11,173,962 parameters.
    assert count_parameters(build_model("resnet18", 2, 3, 10)) == 11_173_962


def test_cifar_mobilenetv2_has_the_published_parameter_count():
    # kuangliu/pytorch-cifar MobileNetV2 for CIFAR-10: 2,296,922 parameters.
    assert count_parameters(build_model("mobilenetv2", 2, 3, 10)) == 2_296_922


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("dim,shape", [(1, (3, 1, 40)), (2, (3, 3, 32, 32))])
def test_every_model_serves_1d_and_2d_inputs(name, dim, shape):
    options = {"mobilenetv2": {"width": 0.25, "max_blocks": 1}, "resnet": {"width": 4, "blocks": [1, 1]},
               "resnet18": {}}[name]
    model = build_model(name, dim, shape[1], 7, **options)
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))]
    assert all(isinstance(c, torch.nn.Conv1d if dim == 1 else torch.nn.Conv2d) for c in convs)
    assert model(torch.randn(shape)).shape == (3, 7)


def test_stem_is_cifar_style_stride_one_without_max_pool():
    model = build_model("resnet18", 2, 3, 10)
    stem = model.stem[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())


def test_width_and_depth_change_the_network():
    small = count_parameters(build_model("resnet", 1, 1, 10, width=8, blocks=[1, 1, 1]))
    wide = count_parameters(build_model("resnet", 1, 1, 10, width=16, blocks=[1, 1, 1]))
    deep = count_parameters(build_model("resnet", 1, 1, 10, width=8, blocks=[2, 2, 2]))
    assert small < deep and small < wide
    assert count_parameters(build_model("mobilenetv2", 1, 1, 10, width=0.5)) > count_parameters(
        build_model("mobilenetv2", 1, 1, 10, width=0.25))


def test_config_knows_exactly_the_registered_models():
    from distancing.config import MODEL_NAMES

    assert sorted(MODEL_NAMES) == sorted(MODELS)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError, match="known models: mobilenetv2, resnet, resnet18"):
        build_model("vgg", 2, 3, 10)
