#!/bin/sh
# Puts SoundDesk in this user's application menu: copies the icon and writes a menu entry that starts the
# `sounddesk` beside this script. Nothing is written into the SoundDesk folder itself. Run it again after
# moving the folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications" "$data/icons/hicolor/scalable/apps" "$data/icons/hicolor/512x512/apps"
cp "$here/sounddesk.svg" "$data/icons/hicolor/scalable/apps/sounddesk.svg"
cp "$here/sounddesk.png" "$data/icons/hicolor/512x512/apps/sounddesk.png"
sed "s|^Exec=.*|Exec=\"$here/sounddesk\"|" "$here/sounddesk.desktop" > "$data/applications/sounddesk.desktop"
echo "SoundDesk is now in your application menu ($data/applications/sounddesk.desktop)."
