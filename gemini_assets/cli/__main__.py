from gemini_assets.cli import main

main()
