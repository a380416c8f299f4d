from .isdnet_encoder_decoder import ISDNetEncoderDecoder

__all__ = ['ISDNetEncoderDecoder']
