"""Data access: the only code that touches DynamoDB. It raises chalicelib.errors, never botocore's."""
