from django.urls import path

from move_mgr import console

urlpatterns = [
    path("", console.moves_page, name="console-moves"),
    path("<slug:slug>/move/", console.start_move, name="console-moves-start"),
]
