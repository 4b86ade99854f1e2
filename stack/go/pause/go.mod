module lfd/stack/pause

go 1.26
