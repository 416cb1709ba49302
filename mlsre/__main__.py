from mlsre.cli.app import main

main()
