@echo off
start "" "%LOCALAPPDATA%\Programs\aws-sso-tray\aws-sso-tray-gui.exe" --autostart
