"""OpenAPI: the bearer service-token security scheme (loaded by the app config)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ServiceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apiauth.authentication.ServiceTokenAuthentication"
    name = "serviceToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http", "scheme": "bearer",
            "description": "A service token from `manage.py create_service_token NAME --scope read|charge|manage`. "
                           "Scopes: read (balances, lots, ledger, rate cards), charge (read + estimates, holds, "
                           "charges), manage (everything).",
        }
