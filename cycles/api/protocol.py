"""Protocol profiles (clinic_admin writes, every staff role reads)."""

from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.roles import ReadStaffWriteAdmin
from cycles import services
from cycles.api.serializers import ProtocolSerializer
from cycles.models import Protocol


class ProtocolDetail(GenericAPIView):
    """The active protocol (DESIGN.md §2); only a clinic admin changes it."""

    queryset = Protocol.objects.none()  # for the OpenAPI schema only
    permission_classes = [ReadStaffWriteAdmin]
    serializer_class = ProtocolSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request):
        return Response(ProtocolSerializer(Protocol.active()).data)

    def patch(self, request):
        protocol = Protocol.active()
        data = ProtocolSerializer(protocol, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(ProtocolSerializer(services.protocol_update(protocol=protocol, **data.validated_data)).data)
