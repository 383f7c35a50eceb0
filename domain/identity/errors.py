from domain.common.errors import (
    BadRequest,
    Conflict,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)


class InvalidEmail(InvalidInput):
    code = "invalid_email"


class WeakPassword(InvalidInput):
    code = "weak_password"


class InvalidName(InvalidInput):
    code = "invalid_name"


class EmailTaken(Conflict):
    code = "email_taken"

    @classmethod
    def default_detail(cls) -> str:
        return "An account with this email already exists."


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"

    @classmethod
    def default_detail(cls) -> str:
        return "Email or password is incorrect."


class InvalidAccessToken(Unauthenticated):
    code = "invalid_token"

    @classmethod
    def default_detail(cls) -> str:
        return "The access token is missing, invalid, expired or revoked."


class InvalidRefreshToken(Unauthenticated):
    code = "invalid_refresh_token"

    @classmethod
    def default_detail(cls) -> str:
        return "The refresh token is invalid, expired or revoked."


class InvalidOneTimeToken(BadRequest):
    code = "invalid_token"

    @classmethod
    def default_detail(cls) -> str:
        return "The token is missing, invalid, expired or already used."


class WrongPassword(BadRequest):
    code = "invalid_password"

    @classmethod
    def default_detail(cls) -> str:
        return "The password is incorrect."


class UserNotFound(NotFound):
    code = "user_not_found"


class SessionNotFound(NotFound):
    code = "session_not_found"


class TooManyLoginAttempts(TooManyRequests):
    code = "too_many_login_attempts"

    @classmethod
    def default_detail(cls) -> str:
        return "Too many failed sign-in attempts; try again later."
