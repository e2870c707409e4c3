"""The precision choice respects what a model declares safe: no fp16 / bf16 where spandrel marks it unsafe.

CUDA is never touched: the choice only reads the device type (and, for bf16, whether the GPU supports it).
"""

import logging

import pytest
import torch
from helpers import community_state_dict

from realesrgan.inference import precision as precision_module
from realesrgan.inference.precision import CPU_KIND_PRECISION, cpu_kind_of, resolve_precision
from realesrgan.zoo import ModelTraits, detect_architecture, get_model_spec

CUDA = torch.device('cuda')


def test_auto_on_cuda_keeps_fp32_for_a_model_spandrel_marks_not_fp16_safe(caplog):
    pytest.importorskip('spandrel')
    swinir = detect_architecture(community_state_dict('SwinIR')).traits  # spandrel: supports_half=False
    span = detect_architecture(community_state_dict('SPAN')).traits  # spandrel: supports_half=True
    assert not swinir.fp16 and span.fp16
    assert resolve_precision('auto', CUDA, traits=swinir) == 'fp32'
    assert resolve_precision('auto', CUDA, traits=span) == 'fp16'
    with caplog.at_level(logging.WARNING):
        assert resolve_precision('fp16', CUDA, traits=swinir) == 'fp32'  # asked for: refused with a warning
        assert resolve_precision(None, CUDA, half=True, traits=swinir) == 'fp32'
    assert 'declares fp16 unsafe' in caplog.text


def test_our_families_keep_the_original_choice():
    traits = get_model_spec('RealESRGAN_x4plus').network.traits
    assert traits.fp16 and traits.bf16
    assert resolve_precision('auto', CUDA, traits=traits) == resolve_precision('auto', CUDA) == 'fp16'


def test_bf16_is_left_out_where_the_model_declares_it_unsafe(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *args, **kwargs: True)
    monkeypatch.setattr(precision_module, 'cpu_bf16_is_faster', lambda: True)  # as on an AMX-BF16 CPU
    unsafe = ModelTraits(fp16=False, bf16=False)
    cpu = torch.device('cpu')
    assert resolve_precision('bf16', CUDA, traits=unsafe) == 'fp32'
    assert resolve_precision('bf16', CUDA, traits=ModelTraits(fp16=False)) == 'bf16'
    assert resolve_precision('auto', cpu, traits=unsafe) == 'fp32'
    assert resolve_precision('auto', cpu, traits=ModelTraits(fp16=False)) == 'bf16'


def test_each_cpu_kind_has_its_precision_in_the_one_table():
    def kind(flags, vendor='GenuineIntel', family=6):
        return cpu_kind_of({'flags': ' '.join(flags), 'vendor_id': vendor, 'cpu family': str(family)})

    kinds = {
        kind(['avx2', 'avx512f', 'avx512_bf16', 'amx_bf16']): 'bf16',
        kind(['avx2', 'avx512f', 'avx512_bf16'], 'AuthenticAMD', 26): 'bf16',  # Zen 5: full-width AVX512-BF16
        kind(['avx2', 'avx512f', 'avx512_bf16'], 'AuthenticAMD', 25): 'fp32',  # Zen 4
        kind(['avx2', 'avx512f']): 'fp32',
        kind(['avx2', 'fma']): 'fp32',  # Zen 3
        kind([]): 'fp32',
    }
    assert list(kinds) == [
        'AMX-BF16',
        'AVX-512 with full-width AVX512-BF16 (AMD Zen 5), no AMX',
        'AVX-512 with AVX512-BF16, no AMX',
        'AVX-512, no bf16',
        'AVX2, no AVX-512',
        'no AVX2',
    ]
    assert {name: CPU_KIND_PRECISION[name] for name in kinds} == kinds
    assert set(CPU_KIND_PRECISION) == set(kinds)


def test_a_onednn_ceiling_lowers_the_kind_and_auto_follows(monkeypatch):
    amx = {'flags': 'avx2 avx512f avx512_bf16 amx_bf16', 'vendor_id': 'GenuineIntel', 'cpu family': '6'}
    assert cpu_kind_of(amx, 'AVX2') == 'AVX2, no AVX-512'
    assert cpu_kind_of(amx, 'avx2_vnni') == 'AVX2, no AVX-512'
    assert cpu_kind_of(amx, 'AVX') == 'no AVX2'
    assert cpu_kind_of(amx, 'AVX512_CORE') == 'AVX-512, no bf16'
    assert cpu_kind_of(amx, 'AVX512_CORE_BF16') == 'AVX-512 with AVX512-BF16, no AMX'
    assert cpu_kind_of(amx, 'AVX512_CORE_AMX') == cpu_kind_of(amx, 'ALL') == cpu_kind_of(amx) == 'AMX-BF16'

    monkeypatch.setattr(precision_module, 'cpuinfo_fields', lambda: amx)
    monkeypatch.setattr(precision_module, 'cpu_has_native_bf16', lambda: True)
    monkeypatch.delenv('DNNL_MAX_CPU_ISA', raising=False)
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX2')
    assert precision_module.cpu_kind() == 'AVX2, no AVX-512'
    assert resolve_precision('auto', torch.device('cpu')) == 'fp32'
    monkeypatch.delenv('ONEDNN_MAX_CPU_ISA')
    assert resolve_precision('auto', torch.device('cpu')) == 'bf16'
