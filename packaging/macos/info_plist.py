"""The macOS ``Info.plist`` entries of gpuplanner.app: identity, and ``.gpuplan`` as the app's document.

The spec passes ``info_plist(version)`` to PyInstaller's ``BUNDLE(info_plist=...)`` (macOS only); the
bundle carries ``gpuplanner.icns`` (app) and ``gpuplanner-document.icns`` (documents) in
``Contents/Resources``. To see the XML: ``python packaging/macos/info_plist.py``.
"""

from __future__ import annotations

import plistlib
import sys
from typing import Any

BUNDLE_ID = "org.gpuplanner.gpuplanner"
PLAN_UTI = "org.gpuplanner.plan"
PLAN_EXTENSION = "gpuplan"
PLAN_MIME = "application/x-gpuplanner-plan"
DOCUMENT_ICON = "gpuplanner-document.icns"


def info_plist(version: str) -> dict[str, Any]:
    """Keys PyInstaller merges into the bundle's Info.plist."""
    return {
        "CFBundleName": "gpuplanner",
        "CFBundleDisplayName": "gpuplanner",
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "NSHumanReadableCopyright": "Copyright (c) 2026 The gpuplanner authors. MIT License.",
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,  # follow the system's dark mode
        "LSMinimumSystemVersion": "11.0",  # Qt 6.11's minimum
        "LSApplicationCategoryType": "public.app-category.developer-tools",
        # Our own file type, declared (exported) so Finder knows .gpuplan belongs to us.
        "UTExportedTypeDeclarations": [
            {
                "UTTypeIdentifier": PLAN_UTI,
                "UTTypeDescription": "gpuplanner plan",
                "UTTypeConformsTo": ["public.json", "public.data"],
                "UTTypeIconFile": DOCUMENT_ICON,
                "UTTypeTagSpecification": {
                    "public.filename-extension": [PLAN_EXTENSION],
                    "public.mime-type": [PLAN_MIME],
                },
            }
        ],
        # ... and the app as its editor: double-clicking a plan opens gpuplanner (a QFileOpenEvent).
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": "gpuplanner plan",
                "CFBundleTypeRole": "Editor",
                "LSHandlerRank": "Owner",
                "LSItemContentTypes": [PLAN_UTI],
                "CFBundleTypeIconFile": DOCUMENT_ICON,
            }
        ],
    }


if __name__ == "__main__":
    version = sys.argv[1] if len(sys.argv) > 1 else "0.0.0"
    sys.stdout.write(plistlib.dumps(info_plist(version)).decode())
