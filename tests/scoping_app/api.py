from rest_framework import serializers
from rest_framework.routers import SimpleRouter

from tenancy.api.base import TenantScopedModelSerializer, TenantScopedModelViewSet
from tests.scoping_app.models import Document, Folder


class FolderSerializer(TenantScopedModelSerializer):
    class Meta:
        model = Folder
        fields = ["id", "name"]


class DocumentSerializer(TenantScopedModelSerializer):
    folder = serializers.PrimaryKeyRelatedField(queryset=Folder.objects.all())

    class Meta:
        model = Document
        fields = ["id", "folder", "title", "size"]


class FolderViewSet(TenantScopedModelViewSet):
    model = Folder
    serializer_class = FolderSerializer
    queryset = Folder.objects.all()


class DocumentViewSet(TenantScopedModelViewSet):
    model = Document
    serializer_class = DocumentSerializer
    queryset = Document.objects.all()


router = SimpleRouter()
router.register("folders", FolderViewSet, basename="folder")
router.register("documents", DocumentViewSet, basename="document")
urlpatterns = router.urls
