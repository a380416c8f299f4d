from .class_uniform_sampler import ClassUniformSampler

__all__ = ['ClassUniformSampler']
