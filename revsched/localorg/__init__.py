from revsched.localorg.schema import SOBJECTS, sobject

__all__ = ["SOBJECTS", "sobject"]
