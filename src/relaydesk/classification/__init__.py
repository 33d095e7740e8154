"""Classification: text classifiers with calibrated confidence, abstention and a model registry."""
