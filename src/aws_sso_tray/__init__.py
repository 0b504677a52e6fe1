"""aws-sso-tray: keep AWS IAM Identity Center (SSO) sessions and role credentials fresh."""

__version__ = "0.1.0"
