from .panels import predict_label_maps, save_prediction_panels

__all__ = ['predict_label_maps', 'save_prediction_panels']
