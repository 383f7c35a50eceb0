from domain.common.errors import DomainError, InvalidInput, NotFound, QuotaExceeded


class FileNotFound(NotFound):
    code = "file_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"


class InvalidFilename(InvalidInput):
    code = "invalid_filename"


class InvalidFileMetadata(InvalidInput):
    code = "invalid_file_metadata"


class FileTooLarge(QuotaExceeded):
    code = "file_too_large"


class StorageQuotaExceeded(QuotaExceeded):
    code = "quota_exceeded"


class UnsupportedFileType(DomainError):
    """HTTP 415: the extension is not allowed, or the bytes are not what the name says."""

    code = "unsupported_file_type"


class NotMultipart(UnsupportedFileType):
    code = "multipart_required"


class InvalidSignature(DomainError):
    """HTTP 403: a download link that is expired, tampered with or truncated."""

    code = "invalid_signature"
